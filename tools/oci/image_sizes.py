"""Prints an OCI image layout's layers with compressed and uncompressed sizes, and the totals.

    tools/bazel run //lambdas/analysis:image_sizes
"""

import gzip
import sys
from pathlib import Path

from tools.oci.layout import blob_path, image_manifest


def uncompressed_size(blob: Path) -> int:
    size = 0
    with gzip.open(blob, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            size += len(chunk)
    return size


def layer_sizes(layout: Path) -> tuple[str, list[dict]]:
    """The manifest digest and, per layer in order: name, compressed and uncompressed bytes."""
    entry, manifest, config = image_manifest(layout)
    history = [h.get("created_by", "") for h in config.get("history", [])]
    layers = []
    for i, layer in enumerate(manifest["layers"]):
        name = history[i].removeprefix("tools/oci layer ") if i < len(history) else layer["digest"][:19]
        layers.append({"layer": name, "compressed": layer["size"],
                       "uncompressed": uncompressed_size(blob_path(layout, layer["digest"]))})
    return entry["digest"], layers


def table(digest: str, layers: list[dict]) -> str:
    rows = [f"image {digest}", f"{'layer':<48} {'compressed MB':>14} {'uncompressed MB':>16}"]
    rows += [f"{l['layer']:<48} {l['compressed'] / 1e6:>14.1f} {l['uncompressed'] / 1e6:>16.1f}" for l in layers]
    rows.append(f"{'total':<48} {sum(l['compressed'] for l in layers) / 1e6:>14.1f} "
                f"{sum(l['uncompressed'] for l in layers) / 1e6:>16.1f}")
    return "\n".join(rows)


def main() -> None:
    print(table(*layer_sizes(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
