"""Stand-in for buildozer's module extension, which Bazel's own MODULE.bazel names (for `bazel mod tidy`).

It creates an empty `buildozer_binary` repository so `bazel mod graph` and friends load offline.
"""

def _empty_repository_impl(repository_ctx):
    repository_ctx.file("BUILD.bazel", "# Empty: buildozer is not packaged for this sysroot.\n")

_empty_repository = repository_rule(implementation = _empty_repository_impl)

def _buildozer_binary_impl(_module_ctx):
    _empty_repository(name = "buildozer_binary")

buildozer_binary = module_extension(implementation = _buildozer_binary_impl)
