"""Our own small OCI rule set, with rules_oci's rule names and attributes (oci_image, oci_push, oci_load).

rules_oci cannot be fetched here; moving to it later is a change of load statements. The registry protocol is
skopeo's job, unpacking is umoci's; these rules only lay out blobs and JSON.
"""

load("@rules_python//python:defs.bzl", "py_binary")
load("//tools/oci:providers.bzl", "OciImageInfo", "OciLayerInfo")

_MEDIA_TYPES_DOC = "Layers are gzip (application/vnd.oci.image.layer.v1.tar+gzip): Lambda accepts them, not zstd."

def _layer_of(ctx, target, index):
    """(blob, descriptor) for one entry of `tars`: a layer rule's output, or a tarball compressed here."""
    if OciLayerInfo in target:
        return target[OciLayerInfo].blob, target[OciLayerInfo].descriptor
    files = target[DefaultInfo].files.to_list()
    if len(files) != 1:
        fail("%s: each entry of tars must be one tarball, %s gives %d files" % (ctx.label, target.label, len(files)))
    blob = ctx.actions.declare_file("%s.layers/%d.tar.gz" % (ctx.label.name, index))
    descriptor = ctx.actions.declare_file("%s.layers/%d.json" % (ctx.label.name, index))
    ctx.actions.run(
        executable = ctx.executable._tar_layer,
        arguments = ["--out", blob.path, "--descriptor", descriptor.path, files[0].path],
        inputs = files,
        outputs = [blob, descriptor],
        mnemonic = "OciLayer",
        progress_message = "Compressing layer %{output}",
    )
    return blob, descriptor

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
    # Labels may carry {STABLE_...} workspace status keys (e.g. the source revision).
    args.add("--info-file", ctx.info_file)
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

oci_image = rule(
    implementation = _oci_image_impl,
    doc = "An OCI image layout (one manifest) from an optional base image and layers. " + _MEDIA_TYPES_DOC,
    attrs = {
        "annotations": attr.string_dict(doc = "Manifest annotations; values may use {STABLE_KEY}."),
        "architecture": attr.string(default = "amd64"),
        "base": attr.label(providers = [OciImageInfo], doc = "An oci_image to build on; none means scratch."),
        "cmd": attr.string_list(),
        "entrypoint": attr.string_list(),
        "env": attr.string_dict(doc = "Merged over the base image's environment."),
        "labels": attr.string_dict(doc = "Config labels; values may use {STABLE_KEY} (workspace status)."),
        "os": attr.string(default = "linux"),
        "tars": attr.label_list(allow_files = [".tar", ".tar.gz", ".tgz"], doc = "Layers, in order."),
        "user": attr.string(),
        "workdir": attr.string(),
        "_assemble": attr.label(default = "//tools/oci:assemble", executable = True, cfg = "exec"),
        "_tar_layer": attr.label(default = "//tools/oci:tar_layer", executable = True, cfg = "exec"),
    },
)

def _oci_load_impl(ctx):
    image = ctx.attr.image[OciImageInfo]
    tarball = ctx.actions.declare_file(ctx.label.name + "/tarball.tar")
    tag = ctx.attr.repo_tags[0] if ctx.attr.repo_tags else ctx.label.name + ":latest"
    ctx.actions.run(
        executable = "skopeo",
        arguments = [
            "--insecure-policy",
            "copy",
            "--quiet",
            "oci:" + image.layout.path,
            "docker-archive:%s:%s" % (tarball.path, tag),
        ] + ["--additional-tag=" + t for t in ctx.attr.repo_tags[1:]],
        inputs = [image.layout],
        outputs = [tarball],
        mnemonic = "OciLoadTarball",
        use_default_shell_env = True,
    )
    launcher = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(launcher, is_executable = True, content = """#!/usr/bin/env bash
# Loads the image tarball into a local engine: docker or podman, whichever is installed.
set -euo pipefail
engine=$(command -v docker || command -v podman) || {{ echo "oci_load: neither docker nor podman is installed; the tarball is $PWD/{tarball}" >&2; exit 1; }}
exec "$engine" load --input "{tarball}"
""".format(tarball = tarball.short_path))
    return [
        DefaultInfo(files = depset([tarball]), executable = launcher, runfiles = ctx.runfiles([tarball])),
        OutputGroupInfo(tarball = depset([tarball])),
    ]

oci_load = rule(
    implementation = _oci_load_impl,
    doc = "A `docker load`/`podman load` tarball of an oci_image (output group `tarball`); `bazel run` loads it.",
    executable = True,
    attrs = {
        "image": attr.label(providers = [OciImageInfo], mandatory = True),
        "repo_tags": attr.string_list(doc = "repository:tag names the loaded image gets."),
    },
)

def oci_push(name, image, repository = "", remote_tags = [], handoff_file = "", **kwargs):
    """A runnable target pushing `image` with skopeo and printing the pushed `repository@sha256:...`.

    Args:
      name: the target; `bazel run :name [-- --repository R]`.
      image: an oci_image.
      repository: default registry/repository; overridden by --repository or $OCI_PUSH_REPOSITORY.
      remote_tags: tags to push as well (the manifest is always addressed by digest).
      handoff_file: workspace-relative JSON file receiving {"image_repository_url", "image_digest"} (for Terraform).
      **kwargs: passed to the py_binary (tags, visibility).
    """
    args = ["--image", "$(rootpath %s)" % image]
    if repository:
        args += ["--default-repository", repository]
    for tag in remote_tags:
        args += ["--tag", tag]
    if handoff_file:
        args += ["--handoff-file", handoff_file]
    py_binary(
        name = name,
        srcs = ["//tools/oci:push.py"],
        main = "//tools/oci:push.py",
        args = args,
        data = [image],
        deps = ["//tools/oci:layer"],
        **kwargs
    )
