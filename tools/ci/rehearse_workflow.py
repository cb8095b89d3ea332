#!/usr/bin/python3
"""Rehearses one job of .github/workflows/deploy.yml (default: build) the way a GitHub-hosted ubuntu-24.04 runner
runs it, on this machine. See tools/ci/README.md for what it covers and what it does not.

    sudo /usr/bin/python3 tools/ci/rehearse_workflow.py --cold     # nothing cached: empty cache store, fresh runner
    sudo /usr/bin/python3 tools/ci/rehearse_workflow.py --warm     # a new runner VM, the cache store of the last run
    python3 tools/ci/rehearse_workflow.py --steps-dry-run          # what would run: steps, conditions, environments

As root it makes a user `runner` with passwordless sudo and no subordinate id range (so tools/bazel goes through
sudo, as on GitHub where AppArmor forbids mounting in user namespaces), clones the commit into
/home/runner/work/<name>/<name>, and runs every `run:` step as that user in a clean environment: only what the
workflow sets, the runner's own variables and the offline stand-ins printed at the start. actions/checkout is the
clone itself; actions/cache/restore and actions/cache/save are emulated with a local store (--cache-dir); any other
action is skipped and listed as not rehearsed.

Standard library plus PyYAML only (the host's /usr/bin/python3).

The code is the package rehearsal/ beside this file (tools/ci/README.md lists its modules); this file only finds it.
"""

import sys
from pathlib import Path

# Run as a script from any directory (sudo, the host's python3, outside Bazel), so the package must be found through
# this file's own directory: python3 -P or PYTHONSAFEPATH would leave that directory off sys.path.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from rehearsal.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
