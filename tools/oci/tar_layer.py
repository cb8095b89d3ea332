"""Turns a tarball (plain or gzip) given to oci_image's `tars` into a gzip layer blob and its descriptor.

    tar_layer.py --out BLOB --descriptor JSON TARBALL

The tarball's content is taken as it is (its producer decides ordering and metadata); only the compression is
ours, without name or timestamp, so the blob is as reproducible as the tarball.
"""

import argparse
import gzip
import hashlib
import json
import subprocess
from pathlib import Path

from tools.oci.layer import LAYER_MEDIA_TYPE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--descriptor", type=Path, required=True)
    parser.add_argument("tarball", type=Path)
    args = parser.parse_args()

    with open(args.tarball, "rb") as probe:
        is_gzip = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if is_gzip else open
    diff_id, size = hashlib.sha256(), 0
    with opener(args.tarball, "rb") as tar, open(args.out, "wb") as out:
        proc = subprocess.Popen(["pigz", "-n", "-6", "-c"], stdin=subprocess.PIPE, stdout=out)
        for chunk in iter(lambda: tar.read(1 << 20), b""):
            diff_id.update(chunk)
            size += len(chunk)
            proc.stdin.write(chunk)
        proc.stdin.close()
        if proc.wait() != 0:
            raise SystemExit("tar_layer: pigz failed")
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    descriptor = {
        "mediaType": LAYER_MEDIA_TYPE,
        "digest": f"sha256:{digest}",
        "size": args.out.stat().st_size,
        "diff_id": f"sha256:{diff_id.hexdigest()}",
        "uncompressed_size": size,
    }
    args.descriptor.write_text(json.dumps(descriptor, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
