"""BuildGrid's `bgd` console script (buildgrid.server.app.cli:cli), as a Bazel binary over the locked wheels."""

import sys

from buildgrid.server.app.cli import cli

if __name__ == "__main__":
    sys.argv[0] = "bgd"
    sys.exit(cli())
