"""locked_requirements: compile_pip_requirements with this repository's lock conventions, for every wheel set."""

load("@rules_python//python:pip.bzl", "compile_pip_requirements")

def locked_requirements(name, requirements_in, requirements_txt, data = []):
    """Hash-locked, complete lock of requirements_in; `bazel run :<name>.update` regenerates it.

    Args:
      name: base name (targets <name>.update and <name>_test).
      requirements_in: the wanted packages.
      requirements_txt: the lock file.
      data: files requirements_in refers to (e.g. a -c constraint lock).
    """
    compile_pip_requirements(
        name = name,
        data = data,
        extra_args = [
            "--allow-unsafe",  # torch needs setuptools at run time; the lock must be complete.
            "--resolver=backtracking",
            # Index and find-links are machine configuration (pip config), not part of the lock.
            "--no-emit-find-links",
            "--no-emit-index-url",
        ],
        requirements_in = requirements_in,
        requirements_txt = requirements_txt,
        # The _test target re-resolves against the live index: run it on purpose, not in `test //...`.
        tags = ["manual"],
    )
