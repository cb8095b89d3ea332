"""Layer rules feeding oci_image's `tars`: Debian packages, locked wheels, the application's sources.

Each layer is its own action with its own cache entry, so a code-only change rebuilds one small layer. Every tool
compresses with the pigz the toolchain names, and never with anything else (tools/oci/layer.py).
"""

load("@rules_python//python:defs.bzl", "PyInfo")
load(":providers.bzl", "OciLayerInfo")
load(":toolchains.bzl", "PIGZ")

def _path(argument, in_runfiles):
    if type(argument) != "File":
        return argument
    return argument.short_path if in_runfiles else argument.path

def _layer(ctx, tool, arguments, inputs, mnemonic, progress_message):
    """Runs a layer tool once; returns the providers, plus a recipe (output group `recipe`).

    The recipe names the tool and its arguments with runfiles-relative paths; //lambdas/analysis/image_tests:reproducible_test
    replays it in a fresh directory, with the same pigz, and compares digests.
    """
    blob = ctx.actions.declare_file(ctx.label.name + ".tar.gz")
    descriptor = ctx.actions.declare_file(ctx.label.name + ".json")
    pigz = ctx.toolchains[PIGZ]
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = ["--out", blob.path, "--descriptor", descriptor.path, "--pigz", pigz.exec_path] +
                    [_path(a, in_runfiles = False) for a in arguments],
        inputs = depset(inputs, transitive = [pigz.files]),
        outputs = [blob, descriptor],
        mnemonic = mnemonic,
        progress_message = progress_message,
    )
    recipe = ctx.actions.declare_file(ctx.label.name + ".recipe.json")
    ctx.actions.write(recipe, json.encode({
        "arguments": ["--pigz", pigz.runfiles_path] + [_path(a, in_runfiles = True) for a in arguments],
        "descriptor": descriptor.short_path,
        "inputs": [f.short_path for f in inputs],
        "tool": tool,
    }))
    return [
        DefaultInfo(files = depset([blob, descriptor])),
        OciLayerInfo(blob = blob, descriptor = descriptor),
        OutputGroupInfo(recipe = depset([recipe]), recipe_inputs = depset(inputs, transitive = [pigz.files])),
    ]

def _tool_attr(name, what):
    return attr.label(
        default = "//tools/oci:" + name,
        executable = True,
        cfg = "exec",
        doc = "tools/oci/%s.py: %s." % (name, what),
    )

def _debian_layer_impl(ctx):
    return _layer(
        ctx,
        "deb_layer",
        ["--user", ctx.attr.user] + ctx.files.debs,
        ctx.files.debs,
        "DebianLayer",
        "Unpacking %d Debian packages into %%{label}" % len(ctx.files.debs),
    )

debian_layer = rule(
    implementation = _debian_layer_impl,
    doc = "One layer holding the given .deb packages unpacked, plus the CA bundle, accounts and dpkg status.",
    attrs = {
        "debs": attr.label_list(allow_files = [".deb"], mandatory = True, doc = "The packages (a locked set)."),
        "user": attr.string(default = "app:1000:1000", doc = "NAME:UID:GID of the non-root user"),
        "_tool": _tool_attr("deb_layer", "dpkg-deb unpacks, the maintainer scripts' work is done by hand"),
    },
    toolchains = [PIGZ],
)

def _py_wheels_layer_impl(ctx):
    wheels = []
    for target in ctx.attr.wheels:
        wheels += [f for f in target[DefaultInfo].files.to_list() if f.extension == "whl"]
    if not wheels:
        fail("%s: no .whl files among wheels" % ctx.label)
    arguments = []
    for path in ctx.attr.exclude:
        arguments += ["--exclude", path]
    return _layer(
        ctx,
        "wheel_layer",
        arguments + wheels,
        wheels,
        "WheelLayer",
        "Installing %d wheels into %%{label}" % len(wheels),
    )

py_wheels_layer = rule(
    implementation = _py_wheels_layer_impl,
    doc = "One layer with the given wheels installed into the image's /usr/local/lib/python3.11/dist-packages.",
    attrs = {
        "exclude": attr.string_list(doc = "Paths under site-packages left out of the layer (build-time-only files)."),
        "wheels": attr.label_list(mandatory = True, doc = "`@pip//<package>:whl` targets (runtime hub only)."),
        "_tool": _tool_attr("wheel_layer", "the `installer` library installs, byte code is precompiled"),
    },
    toolchains = [PIGZ],
)

def _py_app_layer_impl(ctx):
    sources = depset(transitive = [dep[PyInfo].transitive_sources for dep in ctx.attr.srcs]).to_list()
    # Only this repository's code: third-party packages travel in the wheel layers.
    own = [f for f in sources if not f.owner.workspace_name]
    return _layer(
        ctx,
        "app_layer",
        ["--root", ctx.attr.root] + own,
        own,
        "AppLayer",
        "Packing application code into %{label}",
    )

py_app_layer = rule(
    implementation = _py_app_layer_impl,
    doc = "One layer with this repository's Python sources of `srcs` (transitively) under `root`, precompiled.",
    attrs = {
        "root": attr.string(default = "/var/task", doc = "Where the sources land in the image (Lambda's task root)."),
        "srcs": attr.label_list(
            providers = [PyInfo],
            mandatory = True,
            doc = "py_library targets: their transitive sources from this repository are packed.",
        ),
        "_tool": _tool_attr("app_layer", "copies the sources, adds __init__.py files, precompiles"),
    },
    toolchains = [PIGZ],
)
