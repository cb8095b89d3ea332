"""Providers shared by the OCI rules."""

OciLayerInfo = provider(
    doc = "A gzip layer blob built by one of tools/oci's layer rules, with its descriptor (digest, diff_id, sizes).",
    fields = {
        "blob": "File: the .tar.gz blob",
        "descriptor": "File: JSON with mediaType, digest, size, diff_id, uncompressed_size",
    },
)

OciImageInfo = provider(
    doc = "An OCI image layout directory holding one image manifest.",
    fields = {
        "layout": "File (directory): index.json, oci-layout, blobs/sha256",
        "digest": "File: the manifest digest, sha256:<hex>",
    },
)
