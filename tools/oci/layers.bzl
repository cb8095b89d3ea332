"""Layer rules feeding oci_image's `tars`: Debian packages, locked wheels, the application's sources.

Each layer is its own action with its own cache entry, so a code-only change rebuilds one small layer.
"""

load("@rules_python//python:defs.bzl", "PyInfo")
load("//tools/oci:providers.bzl", "OciLayerInfo")

def _outputs(ctx):
    return (
        ctx.actions.declare_file(ctx.label.name + ".tar.gz"),
        ctx.actions.declare_file(ctx.label.name + ".json"),
    )

def _provide(ctx, blob, descriptor, tool, arguments, inputs):
    """Providers, plus a recipe (output group `recipe`) to rebuild the layer outside Bazel.

    The recipe names the tool and its arguments with runfiles-relative paths; the reproducibility test replays it
    in a fresh directory and compares digests.
    """
    recipe = ctx.actions.declare_file(ctx.label.name + ".recipe.json")
    ctx.actions.write(recipe, json.encode({
        "arguments": [a.short_path if type(a) == "File" else a for a in arguments],
        "descriptor": descriptor.short_path,
        "inputs": [f.short_path for f in inputs],
        "tool": tool,
    }))
    return [
        DefaultInfo(files = depset([blob, descriptor])),
        OciLayerInfo(blob = blob, descriptor = descriptor),
        OutputGroupInfo(recipe = depset([recipe]), recipe_inputs = depset(inputs)),
    ]

def _args(blob, descriptor, arguments):
    return ["--out", blob.path, "--descriptor", descriptor.path] + [a.path if type(a) == "File" else a for a in arguments]

def _debian_layer_impl(ctx):
    blob, descriptor = _outputs(ctx)
    arguments = ["--user", ctx.attr.user] + ctx.files.debs
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = _args(blob, descriptor, arguments),
        inputs = ctx.files.debs,
        outputs = [blob, descriptor],
        mnemonic = "DebianLayer",
        progress_message = "Unpacking %d Debian packages into %%{label}" % len(ctx.files.debs),
    )
    return _provide(ctx, blob, descriptor, "deb_layer", arguments, ctx.files.debs)

debian_layer = rule(
    implementation = _debian_layer_impl,
    doc = "One layer holding the given .deb packages unpacked, plus the CA bundle, accounts and dpkg status.",
    attrs = {
        "debs": attr.label_list(allow_files = [".deb"], mandatory = True),
        "user": attr.string(default = "app:1000:1000", doc = "NAME:UID:GID of the non-root user"),
        "_tool": attr.label(default = "//tools/oci:deb_layer", executable = True, cfg = "exec"),
    },
)

def _py_wheels_layer_impl(ctx):
    blob, descriptor = _outputs(ctx)
    wheels = []
    for target in ctx.attr.wheels:
        wheels += [f for f in target[DefaultInfo].files.to_list() if f.extension == "whl"]
    if not wheels:
        fail("%s: no .whl files among wheels" % ctx.label)
    arguments = []
    for path in ctx.attr.exclude:
        arguments += ["--exclude", path]
    arguments += wheels
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = _args(blob, descriptor, arguments),
        inputs = wheels,
        outputs = [blob, descriptor],
        mnemonic = "WheelLayer",
        progress_message = "Installing %d wheels into %%{label}" % len(wheels),
    )
    return _provide(ctx, blob, descriptor, "wheel_layer", arguments, wheels)

py_wheels_layer = rule(
    implementation = _py_wheels_layer_impl,
    doc = "One layer with the given wheels installed into the image's /usr/local/lib/python3.11/dist-packages.",
    attrs = {
        "exclude": attr.string_list(doc = "Paths under site-packages left out of the layer (build-time-only files)."),
        "wheels": attr.label_list(mandatory = True, doc = "`@pip//<package>:whl` targets (runtime hub only)."),
        "_tool": attr.label(default = "//tools/oci:wheel_layer", executable = True, cfg = "exec"),
    },
)

def _py_app_layer_impl(ctx):
    blob, descriptor = _outputs(ctx)
    sources = depset(transitive = [dep[PyInfo].transitive_sources for dep in ctx.attr.srcs]).to_list()
    # Only this repository's code: third-party packages travel in the wheel layers.
    own = [f for f in sources if not f.owner.workspace_name]
    arguments = ["--root", ctx.attr.root] + own
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = _args(blob, descriptor, arguments),
        inputs = own,
        outputs = [blob, descriptor],
        mnemonic = "AppLayer",
        progress_message = "Packing application code into %{label}",
    )
    return _provide(ctx, blob, descriptor, "app_layer", arguments, own)

py_app_layer = rule(
    implementation = _py_app_layer_impl,
    doc = "One layer with this repository's Python sources of `srcs` (transitively) under `root`, precompiled.",
    attrs = {
        "root": attr.string(default = "/var/task"),
        "srcs": attr.label_list(providers = [PyInfo], mandatory = True),
        "_tool": attr.label(default = "//tools/oci:app_layer", executable = True, cfg = "exec"),
    },
)
