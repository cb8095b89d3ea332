"""pytest_test: a py_test whose main is pytest, so a BUILD file needs one line per test."""

load("@rules_python//python:defs.bzl", "py_test")

_RUNNER = "//tools/pytest:pytest_runner.py"

def pytest_test(name, srcs, deps = [], args = [], size = "small", pytest = "@pip_test//pytest", **kwargs):
    """Runs pytest over the test_*.py files in srcs (other srcs, e.g. conftest.py, are only made available).

    Args:
      name: the test target.
      srcs: test modules and their helpers.
      deps: libraries under test; pytest itself is added (see `pytest`), so do not list one here.
      args: extra pytest arguments.
      size: Bazel test size (timeout class); "small" is 60 s.
      pytest: the one pytest on the test's path. Tests whose deps come from another hub pass that hub's pytest
        (e.g. "@pip_infra//pytest"), so pytest runs against the versions it was resolved with (its packaging, pluggy).
      **kwargs: passed to py_test (data, size, tags, env, ...).
    """
    tests = [s for s in srcs if s.split("/")[-1].startswith("test_")]
    if not tests:
        fail("pytest_test %s: no test_*.py among srcs" % name)
    py_test(
        name = name,
        srcs = srcs + [_RUNNER],
        main = _RUNNER,
        args = args + ["$(rootpath %s)" % t for t in tests],
        deps = deps + [pytest],
        size = size,
        **kwargs
    )
