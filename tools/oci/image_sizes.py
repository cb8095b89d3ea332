"""Prints an OCI image layout's layers with compressed and uncompressed sizes, and the totals.

    tools/bazel run //lambdas/analysis:image_sizes
"""

import gzip
import json
import sys
from pathlib import Path


def uncompressed_size(blob: Path) -> int:
    size = 0
    with gzip.open(blob, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            size += len(chunk)
    return size


def main() -> None:
    layout = Path(sys.argv[1])
    blobs = layout / "blobs/sha256"
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"].split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    history = [h.get("created_by", "") for h in config.get("history", [])]
    print(f"image {index['manifests'][0]['digest']}")
    print(f"{'layer':<48} {'compressed MB':>14} {'uncompressed MB':>16}")
    total_c = total_u = 0
    for i, layer in enumerate(manifest["layers"]):
        u = uncompressed_size(blobs / layer["digest"].split(":")[1])
        name = history[i].removeprefix("tools/oci layer ") if i < len(history) else layer["digest"][:19]
        print(f"{name:<48} {layer['size'] / 1e6:>14.1f} {u / 1e6:>16.1f}")
        total_c, total_u = total_c + layer["size"], total_u + u
    print(f"{'total':<48} {total_c / 1e6:>14.1f} {total_u / 1e6:>16.1f}")


if __name__ == "__main__":
    main()
