"""Unpacks Debian packages into one reproducible layer: the Lambda-compatible Python 3.11 base.

    deb_layer.py --out BLOB --descriptor JSON --pigz PIGZ --user NAME:UID:GID DEB...

dpkg-deb does the unpacking. What the packages' maintainer scripts would do at install time and an image needs
is done here instead: the CA bundle (update-ca-certificates), /etc/passwd and /etc/group with a non-root user,
the dpkg status database (so image scanners such as ECR's see the packages), /tmp, /var/task.
"""

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from tools.oci.layer import add_output_arguments, write_layer

# Documentation adds size and nothing at run time; copyright files stay for license compliance.
DROPPED = ("usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian", "usr/share/doc-base")


def unpack(deb: Path, root: Path) -> str:
    subprocess.run(["dpkg-deb", "--extract", str(deb), str(root)], check=True)
    control = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True, capture_output=True, text=True).stdout
    return control.strip() + "\nStatus: install ok installed\n"


def drop_docs(root: Path) -> None:
    for rel in DROPPED:
        if (root / rel).exists():
            shutil.rmtree(root / rel)
    doc = root / "usr/share/doc"
    if doc.is_dir():
        for path in sorted(doc.rglob("*"), reverse=True):
            if path.is_file() and path.name != "copyright" or path.is_symlink():
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def ca_bundle(root: Path) -> None:
    """What update-ca-certificates does with the default configuration: every shipped cert, concatenated."""
    certs = sorted((root / "usr/share/ca-certificates").rglob("*.crt"))
    if not certs:
        raise SystemExit("deb_layer: no CA certificates among the packages (is ca-certificates locked?)")
    bundle = root / "etc/ssl/certs/ca-certificates.crt"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_bytes(b"".join(c.read_bytes().rstrip(b"\n") + b"\n" for c in certs))


def accounts(root: Path, user: str) -> None:
    name, uid, gid = user.split(":")
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        f"{name}:x:{uid}:{gid}:{name}:/tmp:/usr/sbin/nologin\n"
    )
    (root / "etc/group").write_text(f"root:x:0:\nnogroup:x:65534:\n{name}:x:{gid}:\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_arguments(parser)
    parser.add_argument("--user", required=True, help="NAME:UID:GID of the non-root user")
    parser.add_argument("debs", type=Path, nargs="+")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="deb-layer-") as tmp:
        root = Path(tmp)
        status = [unpack(deb, root) for deb in sorted(args.debs)]
        drop_docs(root)
        ca_bundle(root)
        accounts(root, args.user)
        dpkg = root / "var/lib/dpkg"
        dpkg.mkdir(parents=True, exist_ok=True)
        (dpkg / "status").write_text("\n".join(status))
        python = root / "usr/bin/python3"
        if not python.exists():
            python.symlink_to("python3.11")
        for rel in ("tmp", "var/task", "root"):
            (root / rel).mkdir(parents=True, exist_ok=True)
        write_layer(root, args.out, args.descriptor, args.pigz, modes={"tmp": 0o1777, "root": 0o700})


if __name__ == "__main__":
    main()
