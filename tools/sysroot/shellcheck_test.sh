#!/usr/bin/env bash
# Runs shellcheck on the scripts passed as data (their runfiles paths are under the workspace root).
set -euo pipefail
cd "${TEST_SRCDIR}/${TEST_WORKSPACE}"
scripts=(tools/bazel tools/sysroot/bootstrap.sh tools/sysroot/debian_sources.sh tools/sysroot/enter.sh tools/sysroot/lib.sh
  tools/sysroot/preflight.sh tools/sysroot/privileges.sh tools/sysroot/archive.sh .ci/run)
for s in "${scripts[@]}"; do [ -f "$s" ] || { echo "missing $s in runfiles" >&2; exit 1; }; done
shellcheck --external-sources --source-path=SCRIPTDIR "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
