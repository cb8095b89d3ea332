"""oci_image: an OCI image layout from an optional base image and layers; tools/oci/assemble.py writes it."""

load(":providers.bzl", "OciImageInfo", "OciLayerInfo")
load(":stamp.bzl", "STAMP_ATTRS", "is_stamped")
load(":toolchains.bzl", "PIGZ")

def _layer_of(ctx, target, index):
    """(blob, descriptor) for one entry of `tars`: a layer rule's output, or a tarball compressed here."""
    if OciLayerInfo in target:
        return target[OciLayerInfo].blob, target[OciLayerInfo].descriptor
    files = target[DefaultInfo].files.to_list()
    if len(files) != 1:
        fail("%s: each entry of tars must be one tarball, %s gives %d files" % (ctx.label, target.label, len(files)))
    blob = ctx.actions.declare_file("%s.layers/%d.tar.gz" % (ctx.label.name, index))
    descriptor = ctx.actions.declare_file("%s.layers/%d.json" % (ctx.label.name, index))
    pigz = ctx.toolchains[PIGZ]
    ctx.actions.run(
        executable = ctx.executable._tar_layer,
        arguments = ["--out", blob.path, "--descriptor", descriptor.path, "--pigz", pigz.exec_path, files[0].path],
        inputs = depset(files, transitive = [pigz.files]),
        outputs = [blob, descriptor],
        mnemonic = "OciLayer",
        progress_message = "Compressing layer %{output}",
    )
    return blob, descriptor

def _quotes_status(ctx):
    return any(["{STABLE_" in value for value in ctx.attr.labels.values() + ctx.attr.annotations.values()])

def _oci_image_impl(ctx):
    layout = ctx.actions.declare_directory(ctx.label.name)
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    spec = ctx.actions.declare_file(ctx.label.name + ".spec.json")
    ctx.actions.write(spec, json.encode({
        "annotations": ctx.attr.annotations,
        "architecture": ctx.attr.architecture,
        "cmd": ctx.attr.cmd or None,
        "entrypoint": ctx.attr.entrypoint or None,
        "env": ctx.attr.env,
        "labels": ctx.attr.labels,
        "os": ctx.attr.os,
        "user": ctx.attr.user or None,
        "workdir": ctx.attr.workdir or None,
    }))

    args = ctx.actions.args()
    args.add("--spec", spec)
    args.add("--out", layout.path)
    args.add("--digest-out", digest)
    inputs = [spec]
    if ctx.attr.base:
        args.add("--base", ctx.attr.base[OciImageInfo].layout.path)
        inputs.append(ctx.attr.base[OciImageInfo].layout)
    for index, target in enumerate(ctx.attr.tars):
        blob, descriptor = _layer_of(ctx, target, index)
        args.add_all("--layer", [blob, descriptor])
        inputs += [blob, descriptor]
    # Only a stamped image that quotes a status key reads the workspace status: as an input, the status file
    # reruns this action after every commit, and would change nothing but the revision label.
    if is_stamped(ctx) and _quotes_status(ctx):
        args.add("--stamp-info-file", ctx.info_file)
        inputs.append(ctx.info_file)

    ctx.actions.run(
        executable = ctx.executable._assemble,
        arguments = [args],
        inputs = inputs,
        outputs = [layout, digest],
        mnemonic = "OciImage",
        progress_message = "Assembling OCI image %{label}",
    )
    return [
        # The layout alone is the default output, so $(rootpath :image) names it; the digest is an output group.
        DefaultInfo(files = depset([layout]), runfiles = ctx.runfiles([layout])),
        OutputGroupInfo(digest = depset([digest])),
        OciImageInfo(layout = layout, digest = digest),
    ]

_STATUS_KEYS_DOC = " A value naming a workspace status key ({STABLE_KEY}, tools/workspace_status.sh) is expanded " + \
                   "when the image is stamped (see `stamp`) and the entry is left out when it is not."

oci_image = rule(
    implementation = _oci_image_impl,
    doc = """An OCI image layout (image spec 1.1, one manifest named `latest`) from an optional base image and
    layers. Layers are gzip (application/vnd.oci.image.layer.v1.tar+gzip): Lambda accepts them, not zstd. The
    manifest digest is in output group `digest` (file NAME.digest).""",
    attrs = dict({
        "annotations": attr.string_dict(doc = "Manifest annotations." + _STATUS_KEYS_DOC),
        "architecture": attr.string(default = "amd64", doc = "Config `architecture` (GOARCH spelling)."),
        "base": attr.label(providers = [OciImageInfo], doc = "An oci_image to build on; none means scratch."),
        "cmd": attr.string_list(doc = "Config `Cmd`: the default arguments (Lambda: the handler)."),
        "entrypoint": attr.string_list(doc = "Config `Entrypoint`: the program the container starts."),
        "env": attr.string_dict(doc = "Environment, merged key by key over the base image's (PATH by default)."),
        "labels": attr.string_dict(doc = "Config labels, merged over the base image's." + _STATUS_KEYS_DOC),
        "os": attr.string(default = "linux", doc = "Config `os` (GOOS spelling)."),
        "tars": attr.label_list(
            allow_files = [".tar", ".tar.gz", ".tgz"],
            doc = "Layers, bottom first: layer rules (debian_layer, py_wheels_layer, py_app_layer) as they are, " +
                  "or one tarball per target, which is recompressed with pigz (its contents are taken as they are).",
        ),
        "user": attr.string(doc = "Config `User`: NAME, UID or UID:GID the process runs as."),
        "workdir": attr.string(doc = "Config `WorkingDir`."),
        "_assemble": attr.label(
            default = "//tools/oci:assemble",
            executable = True,
            cfg = "exec",
            doc = "Writes the layout: blobs, config, manifest, index.json.",
        ),
        "_tar_layer": attr.label(
            default = "//tools/oci:tar_layer",
            executable = True,
            cfg = "exec",
            doc = "Compresses a plain tarball given in `tars` into a layer.",
        ),
    }, **STAMP_ATTRS),
    toolchains = [PIGZ],
)
