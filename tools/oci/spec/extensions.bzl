"""Module extension exposing the OCI image-spec JSON schemas from the shared folder beside the checkout.

The schemas are the specification's own files (../shared/oci-image-spec/schema), not copied into this repository.
When the folder is missing the repository is empty and the conformance test fails saying so.
"""

def _oci_image_spec_impl(rctx):
    schema_dir = rctx.workspace_root.dirname.get_child("shared").get_child("oci-image-spec").get_child("schema")
    names = []
    if schema_dir.exists:
        for entry in schema_dir.readdir():
            if entry.basename.endswith(".json"):
                rctx.symlink(entry, "schema/" + entry.basename)
                names.append("schema/" + entry.basename)
    rctx.file("BUILD.bazel", "\n".join([
        "# Generated: the OCI image-spec schemas found at %s (%d files)." % (schema_dir, len(names)),
        "filegroup(",
        "    name = \"schemas\",",
        "    srcs = %s," % json.encode(sorted(names)),
        "    visibility = [\"//visibility:public\"],",
        ")",
        "",
    ]))

_oci_image_spec = repository_rule(implementation = _oci_image_spec_impl, local = True)

def _impl(_module_ctx):
    _oci_image_spec(name = "oci_image_spec")

oci_image_spec = module_extension(implementation = _impl)
