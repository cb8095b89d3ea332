"""pytest_test: a py_test whose main is pytest, so a BUILD file needs one line per test."""

load("@rules_python//python:defs.bzl", "py_test")

_RUNNER = "//tools/pytest:pytest_runner.py"

def _plugin_module(label):
    """The module a plugin label names: //a/b:fixtures (or :fixtures in package a/b) is a.b.fixtures."""
    if label.startswith(":"):
        package, name = native.package_name(), label[1:]
    elif label.startswith("//") and ":" in label:
        package, name = label[2:].split(":")
    else:
        fail("pytest_test plugins: %r is not //package:name or :name" % label)
    return ".".join([p for p in package.split("/") + [name] if p])

def pytest_test(name, srcs, deps = [], plugins = [], args = [], size = "small", pytest = "@pip_test//pytest", **kwargs):
    """Runs pytest over the test_*.py files in srcs (other srcs are only made available).

    Args:
      name: the test target.
      srcs: test modules and their helpers.
      deps: libraries under test; pytest itself is added (see `pytest`), so do not list one here.
      plugins: py_library targets that are pytest plugins (fixtures), loaded with `-p` before collection, so each
        fixture is defined once per run (no conftest.py re-exports). `//a/b:fixtures` must hold a/b/fixtures.py.
      args: extra pytest arguments.
      size: Bazel test size (timeout class); "small" is 60 s.
      pytest: the one pytest on the test's path. Tests whose deps come from another hub pass that hub's pytest
        (e.g. "@pip_infra//pytest"), so pytest runs against the versions it was resolved with (its packaging, pluggy).
      **kwargs: passed to py_test (data, env, tags, ...).
    """
    tests = [s for s in srcs if s.split("/")[-1].startswith("test_")]
    if not tests:
        fail("pytest_test %s: no test_*.py among srcs" % name)
    plugin_args = []
    for plugin in plugins:
        plugin_args += ["-p", _plugin_module(plugin)]
    py_test(
        name = name,
        srcs = srcs + [_RUNNER],
        main = _RUNNER,
        args = plugin_args + args + ["$(rootpath %s)" % t for t in tests],
        deps = deps + plugins + [pytest],
        size = size,
        **kwargs
    )
