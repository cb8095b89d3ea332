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

def _provide(blob, descriptor):
    return [DefaultInfo(files = depset([blob, descriptor])), OciLayerInfo(blob = blob, descriptor = descriptor)]

def _debian_layer_impl(ctx):
    blob, descriptor = _outputs(ctx)
    args = ctx.actions.args()
    args.add("--out", blob).add("--descriptor", descriptor).add("--user", ctx.attr.user)
    args.add_all(ctx.files.debs)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.debs,
        outputs = [blob, descriptor],
        mnemonic = "DebianLayer",
        progress_message = "Unpacking %d Debian packages into %%{label}" % len(ctx.files.debs),
    )
    return _provide(blob, descriptor)

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
    args = ctx.actions.args()
    args.add("--out", blob).add("--descriptor", descriptor)
    args.add_all(ctx.attr.exclude, before_each = "--exclude")
    args.add_all(wheels)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = wheels,
        outputs = [blob, descriptor],
        mnemonic = "WheelLayer",
        progress_message = "Installing %d wheels into %%{label}" % len(wheels),
    )
    return _provide(blob, descriptor)

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
    args = ctx.actions.args()
    args.add("--out", blob).add("--descriptor", descriptor).add("--root", ctx.attr.root)
    args.add_all(own)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = own,
        outputs = [blob, descriptor],
        mnemonic = "AppLayer",
        progress_message = "Packing application code into %{label}",
    )
    return _provide(blob, descriptor)

py_app_layer = rule(
    implementation = _py_app_layer_impl,
    doc = "One layer with this repository's Python sources of `srcs` (transitively) under `root`, precompiled.",
    attrs = {
        "root": attr.string(default = "/var/task"),
        "srcs": attr.label_list(providers = [PyInfo], mandatory = True),
        "_tool": attr.label(default = "//tools/oci:app_layer", executable = True, cfg = "exec"),
    },
)
