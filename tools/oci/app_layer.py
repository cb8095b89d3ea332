"""Packs the application's Python sources into one reproducible layer under the Lambda task root.

    app_layer.py --out BLOB --descriptor JSON --pigz PIGZ --root /var/task SRC...

Each SRC is a workspace-relative path (a py_library's source); it lands at ROOT/SRC, with its byte code
precompiled for the image's interpreter and every package directory given an __init__.py if it lacks one.
"""

import argparse
import shutil
import tempfile
from pathlib import Path

from tools.oci.layer import add_output_arguments, compile_bytecode, write_layer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_arguments(parser)
    parser.add_argument("--root", default="/var/task")
    parser.add_argument("srcs", nargs="+")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="app-layer-") as tmp:
        stage = Path(tmp)
        task_root = stage / args.root.strip("/")
        for src in sorted(set(args.srcs)):
            target = task_root / src
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            # Regular packages all the way down, so the handler imports the same under any sys.path setup.
            for package in target.parents:
                if package == task_root:
                    break
                (package / "__init__.py").touch(exist_ok=True)
        compile_bytecode(task_root, stage)
        write_layer(stage, args.out, args.descriptor, args.pigz)


if __name__ == "__main__":
    main()
