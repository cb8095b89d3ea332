"""oci_load: a docker/podman-loadable tarball of an oci_image; skopeo (toolchain) converts the layout."""

load(":providers.bzl", "OciImageInfo")
load(":toolchains.bzl", "SKOPEO")

def _oci_load_impl(ctx):
    image = ctx.attr.image[OciImageInfo]
    skopeo = ctx.toolchains[SKOPEO]
    tarball = ctx.actions.declare_file(ctx.label.name + "/tarball.tar")
    tag = ctx.attr.repo_tags[0] if ctx.attr.repo_tags else ctx.label.name + ":latest"
    ctx.actions.run(
        executable = skopeo.exec_path,
        arguments = [
            "--insecure-policy",
            "copy",
            "--quiet",
            "oci:" + image.layout.path,
            "docker-archive:%s:%s" % (tarball.path, tag),
        ] + ["--additional-tag=" + t for t in ctx.attr.repo_tags[1:]],
        inputs = [image.layout],
        tools = skopeo.files,
        outputs = [tarball],
        mnemonic = "OciLoadTarball",
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
    doc = """A `docker load`/`podman load` tarball of an oci_image (default output, and output group `tarball`);
    `bazel run` loads it into whichever engine is installed.""",
    executable = True,
    attrs = {
        "image": attr.label(providers = [OciImageInfo], mandatory = True, doc = "The oci_image to load."),
        "repo_tags": attr.string_list(doc = "repository:tag names the loaded image gets; default NAME:latest."),
    },
    toolchains = [SKOPEO],
)
