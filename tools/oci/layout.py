"""Reading an OCI image layout that holds one image manifest (what oci_image writes)."""

import json
from pathlib import Path

MANIFEST_MEDIA_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                        "application/vnd.docker.distribution.manifest.v2+json")


def blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs/sha256" / digest.split(":", 1)[1]


def image_manifest(layout: Path) -> tuple[dict, dict, dict]:
    """(index entry, manifest, config) of the layout's only image manifest; ValueError for anything else."""
    manifests = json.loads((layout / "index.json").read_text()).get("manifests", [])
    if len(manifests) != 1 or manifests[0].get("mediaType") not in MANIFEST_MEDIA_TYPES:
        raise ValueError(f"{layout} must hold exactly one image manifest, it holds {len(manifests)} entries")
    manifest = json.loads(blob_path(layout, manifests[0]["digest"]).read_text())
    config = json.loads(blob_path(layout, manifest["config"]["digest"]).read_text())
    return manifests[0], manifest, config
