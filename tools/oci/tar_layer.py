"""Turns a tarball (plain or gzip) given to oci_image's `tars` into a gzip layer blob and its descriptor.

    tar_layer.py --out BLOB --descriptor JSON --pigz PIGZ TARBALL

The tarball's content is taken as it is (its producer decides ordering and metadata); only the compression is
ours (layer.gzip_blob), so the blob is as reproducible as the tarball.
"""

import argparse
import gzip
from pathlib import Path

from tools.oci.layer import add_output_arguments, gzip_blob


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_arguments(parser)
    parser.add_argument("tarball", type=Path)
    args = parser.parse_args()

    with open(args.tarball, "rb") as probe:
        is_gzip = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if is_gzip else open
    with opener(args.tarball, "rb") as tar, gzip_blob(args.out, args.descriptor, args.pigz) as writer:
        for chunk in iter(lambda: tar.read(1 << 20), b""):
            writer.write(chunk)


if __name__ == "__main__":
    main()
