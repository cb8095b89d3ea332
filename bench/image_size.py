"""Image size per layer against the goals (< 1.2 GB uncompressed here; NFR-002: < 3 GB).

    tools/bazel run //bench:image_size
"""

import argparse
import os
from pathlib import Path

from bench import report
from tools.oci.image_sizes import layer_sizes, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    args = parser.parse_args()
    digest, layers = layer_sizes(Path(args.image))
    print(table(digest, layers))
    total = sum(l["uncompressed"] for l in layers)
    section = "\n".join(
        ["Command: `tools/bazel run //bench:image_size` (also `tools/bazel run //lambdas/analysis:image_sizes`).", "",
         "| layer | compressed | uncompressed |", "| --- | --- | --- |"]
        + [f"| {l['layer']} | {l['compressed'] / 1e6:.1f} MB | {l['uncompressed'] / 1e6:.1f} MB |" for l in layers]
        + [f"| **total** | {sum(l['compressed'] for l in layers) / 1e6:.1f} MB | **{total / 1e6:.1f} MB** "
           "(goal < 1200 MB; NFR-002 < 3000 MB) |"])
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", Path(__file__).resolve().parents[1]))
    report.write(workspace, "image_size", "Image size per layer", section, {"digest": digest, "layers": layers})


if __name__ == "__main__":
    main()
