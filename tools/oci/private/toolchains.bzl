"""Toolchains for the programs the OCI rules run: skopeo, umoci, runc, pigz.

One toolchain type per program (rules_oci does the same for crane and regctl), so a user can swap one program
without restating the others. The default toolchains (//tools/oci/toolchains) name the sysroot's /usr/bin copies.
"""

# Each program's toolchain type, and the Make variable that names it in `args`/`env` (see oci_tool_variables).
TOOLCHAIN_TYPES = {
    "PIGZ": "//tools/oci/toolchains:pigz_toolchain_type",
    "RUNC": "//tools/oci/toolchains:runc_toolchain_type",
    "SKOPEO": "//tools/oci/toolchains:skopeo_toolchain_type",
    "UMOCI": "//tools/oci/toolchains:umoci_toolchain_type",
}

PIGZ = TOOLCHAIN_TYPES["PIGZ"]
SKOPEO = TOOLCHAIN_TYPES["SKOPEO"]

def _oci_tool_impl(ctx):
    if bool(ctx.attr.path) == bool(ctx.attr.tool):
        fail("%s: give exactly one of `path` and `tool`" % ctx.label)
    if ctx.attr.path and not ctx.attr.path.startswith("/"):
        fail("%s: `path` must be absolute (an action runs in its sandbox), got %r" % (ctx.label, ctx.attr.path))
    executable = ctx.executable.tool
    return [platform_common.ToolchainInfo(
        # The program as a build action names it (a Bazel-built one by its exec path).
        exec_path = executable.path if executable else ctx.attr.path,
        # Inputs an action running the program needs: none for a preinstalled one.
        files = ctx.attr.tool[DefaultInfo].files if executable else depset(),
        # The program as a path from a runfiles tree's main directory (`bazel run` / `bazel test` / recipes).
        runfiles_path = executable.short_path if executable else ctx.attr.path,
    )]

oci_tool = rule(
    implementation = _oci_tool_impl,
    doc = """One program for the OCI rules, as a toolchain's implementation: a preinstalled binary (`path`) or a
    Bazel-built / downloaded one (`tool`). Wrap it in a `toolchain()` of the program's toolchain type.""",
    attrs = {
        "path": attr.string(
            doc = "Absolute path of a preinstalled binary, e.g. /usr/bin/skopeo. Not tracked by Bazel: replacing " +
                  "the binary in place rebuilds nothing.",
        ),
        "tool": attr.label(
            doc = "The binary as a target (e.g. from http_file); a hermetic alternative to `path`.",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
    },
)

def _oci_tool_variables_impl(ctx):
    tools = {name: ctx.toolchains[toolchain_type] for name, toolchain_type in TOOLCHAIN_TYPES.items()}
    return [
        platform_common.TemplateVariableInfo({name: tool.runfiles_path for name, tool in tools.items()}),
        DefaultInfo(runfiles = ctx.runfiles(transitive_files = depset(transitive = [t.files for t in tools.values()]))),
    ]

oci_tool_variables = rule(
    implementation = _oci_tool_variables_impl,
    doc = """$(SKOPEO), $(UMOCI), $(RUNC) and $(PIGZ) for targets that run the programs at `bazel run`/`bazel test`
    time: list this target in their `toolchains` (the variables) and `data` (the programs, when built by Bazel).""",
    toolchains = TOOLCHAIN_TYPES.values(),
)
