"""Entry point of every pytest_test: runs pytest on the files Bazel passes and reports to Bazel's JUnit file.

A skipped test fails the target: a skip must never be counted as a pass. An empty collection fails too.
"""

import os
import sys

import pytest


class _SkipCounter:
    """Collects the ids of skipped tests (marks, pytest.skip, xfail) so the run can be failed on them."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            self.skipped.append(report.nodeid)


def main() -> int:
    args = ["-p", "no:cacheprovider", "-ra", "--strict-markers"]
    # tmp_path under the test's own TEST_TMPDIR, which Bazel empties: pytest's default (/tmp/pytest-of-USER, three
    # runs kept) piled up hundreds of MB of models and image bundles in the sysroot's /tmp.
    test_tmpdir = os.environ.get("TEST_TMPDIR")
    if test_tmpdir:
        args.append(f"--basetemp={os.path.join(test_tmpdir, 'pytest')}")
    xml_output = os.environ.get("XML_OUTPUT_FILE")
    if xml_output:
        args.append(f"--junitxml={xml_output}")
    counter = _SkipCounter()
    code = pytest.main(args + sys.argv[1:], plugins=[counter])
    if code == pytest.ExitCode.OK and counter.skipped:
        print(f"pytest_runner: {len(counter.skipped)} test(s) skipped, which fails this target:", file=sys.stderr)
        for node in counter.skipped:
            print(f"  {node}", file=sys.stderr)
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
