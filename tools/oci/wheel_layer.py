"""Installs wheels into one reproducible layer, the way pip would install them into the image's Python.

    wheel_layer.py --out BLOB --descriptor JSON --pigz PIGZ WHEEL...

The `installer` library does the installing (purelib/platlib, .data directories, entry-point scripts, RECORD);
no dependency resolution happens here: the wheels are exactly the hash-locked ones rules_python fetched.
Byte code is precompiled for the image's interpreter (this one: the sysroot's Python 3.11 is the same build).
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile

from tools.oci.layer import add_output_arguments, compile_bytecode, write_layer

# Debian's python3.11 puts /usr/local/lib/python3.11/dist-packages on sys.path: no PYTHONPATH needed.
PREFIX = "usr/local"
SITE_PACKAGES = f"{PREFIX}/lib/python3.11/dist-packages"
INTERPRETER = "/usr/bin/python3.11"
# Nothing GPU-related may reach the image: the lock must hold the CPU build of torch only.
FORBIDDEN_PREFIXES = ("nvidia_", "nvidia-", "triton")


def scheme(root: Path) -> dict[str, str]:
    return {
        "purelib": str(root / SITE_PACKAGES),
        "platlib": str(root / SITE_PACKAGES),
        "headers": str(root / PREFIX / "include/python3.11"),
        "scripts": str(root / PREFIX / "bin"),
        "data": str(root / PREFIX),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_arguments(parser)
    parser.add_argument("--exclude", action="append", default=[],
                        help="path under site-packages to leave out (directory or file), e.g. torch/include")
    parser.add_argument("wheels", type=Path, nargs="+")
    args = parser.parse_args()

    for wheel in args.wheels:
        if wheel.name.lower().startswith(FORBIDDEN_PREFIXES) or "+cu" in wheel.name:
            sys.exit(f"wheel_layer: {wheel.name} is a GPU package; only the CPU build may reach the image")

    with tempfile.TemporaryDirectory(prefix="wheel-layer-") as tmp:
        root = Path(tmp)
        destination = SchemeDictionaryDestination(
            scheme(root), interpreter=INTERPRETER, script_kind="posix", bytecode_optimization_levels=()
        )
        for wheel in sorted(args.wheels):
            with WheelFile.open(wheel) as source:
                install(source, destination, additional_metadata={"INSTALLER": b"tools/oci\n"})
        for rel in args.exclude:
            target = root / SITE_PACKAGES / rel
            if not target.exists():
                sys.exit(f"wheel_layer: --exclude {rel} matches nothing; drop it from the BUILD file")
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        compile_bytecode(root / SITE_PACKAGES, root)
        write_layer(root, args.out, args.descriptor, args.pigz)


if __name__ == "__main__":
    main()
