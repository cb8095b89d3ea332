"""The OCI image-spec JSON schemas the image conformance test validates against, pinned by SHA-256.

The bytes are the specification's own files: schema/<name> in github.com/opencontainers/image-spec at
OCI_IMAGE_SPEC_COMMIT, as raw.githubusercontent.com serves them. To move to another commit, change the commit, put
each file's `sha256sum` here, and add any file a new `$ref` names: //tools/oci/spec:pins_test fails until the set
is complete.

Plain literals only: pins_test reads this file with Python's ast, outside Bazel.
"""

# A full commit id, never a branch or tag: the files must not change under the pins.
OCI_IMAGE_SPEC_COMMIT = "13cff54902ec9ad6320cbc487a685b66fcd67171"

# File name under schema/ → SHA-256 of its bytes at OCI_IMAGE_SPEC_COMMIT. Exactly the files `$ref` reaches from the
# four schemas the conformance test uses (layout, index, manifest, config).
OCI_IMAGE_SPEC_SCHEMAS = {
    "config-schema.json": "089fcf3cf65a378873ffd5bdf450098de95a0a52def0ef41a57ae33275654ba8",
    "content-descriptor.json": "5db5cba46c2a0560156ab14fa25933a63e206e340b55a78fba7b3dc6386d0497",
    "defs-descriptor.json": "c960b6dd8a65dc3149372988a02c93153d3975c4837c54181640b4fbca6595a5",
    "defs.json": "23b4abe55230e4bc7f521dc08e5261e9f1aece585059d6581300e9c56eb1420e",
    "image-index-schema.json": "1a4641a610933fac77db9af7a83664d54883efac180f8867efd0497048e1a82e",
    "image-layout-schema.json": "272dbf81baeb72c105298b6d56553de68b4aee676efff5a44d171f0761395545",
    "image-manifest-schema.json": "040ba9c116f1013175f5be6eb2620d87ca98cd90edc74548ee98ee89394aa4a2",
}
