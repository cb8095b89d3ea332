"""oci_push: a runnable py_binary around tools/oci/push.py, with skopeo from the toolchain."""

load("@rules_python//python:defs.bzl", "py_binary")

_PUSH = Label("//tools/oci:push.py")
# $(SKOPEO) as a Make variable, and skopeo's files when Bazel builds it (oci_tool_variables).
_VARIABLES = Label("//tools/oci/toolchains:variables")

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
    args = ["--image", "$(rootpath %s)" % image, "--skopeo", "$(SKOPEO)"]
    if repository:
        args += ["--default-repository", repository]
    for tag in remote_tags:
        args += ["--tag", tag]
    if handoff_file:
        args += ["--handoff-file", handoff_file]
    py_binary(
        name = name,
        srcs = [_PUSH],
        main = _PUSH,
        args = args,
        data = [image, _VARIABLES],
        toolchains = [_VARIABLES],
        deps = [Label("//tools/oci:layer")],
        **kwargs
    )
