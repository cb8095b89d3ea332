"""Assembles an OCI image layout (image spec 1.1) from an optional base layout and prebuilt layers.

    assemble.py --spec SPEC.json --out DIR --digest-out FILE [--base DIR] [--stamp-info-file F] [--layer BLOB DESC]...

SPEC holds the rules_oci-style attributes (entrypoint, cmd, env, user, workdir, labels, annotations, os,
architecture). Label and annotation values may name workspace status keys as {STABLE_KEY}. Stamped (oci_image
passes Bazel's stable-status.txt as --stamp-info-file), they are replaced from it, and a key it lacks is an error.
Unstamped, an entry naming a key is left out: the image then depends on nothing but its sources, and a value such
as "unknown" would be a label that looks like data. The output is index.json, oci-layout and blobs/sha256/*, with
one image manifest; DIGEST_OUT receives that manifest's digest.
"""

import argparse
import hashlib
import json
import re
import shutil
from pathlib import Path

from tools.oci.layout import image_manifest

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
CREATED = "2000-01-01T00:00:00Z"  # the layers' fixed mtime; a build time would break reproducibility
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def put_blob(blobs: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}"


def read_base(base: Path) -> tuple[dict, list[dict], Path]:
    try:
        _, manifest, config = image_manifest(base)
    except ValueError as error:
        raise SystemExit(f"assemble: base {error}")
    return config, manifest["layers"], base / "blobs/sha256"


STATUS_KEY = re.compile(r"\{(STABLE_[A-Z0-9_]+)\}")


def status_values(info_file: Path) -> dict[str, str]:
    values = {}
    for line in info_file.read_text().splitlines():
        key, _, value = line.partition(" ")
        values[key] = value
    return values


def stamp(mapping: dict[str, str], status: dict[str, str] | None) -> dict[str, str]:
    """MAPPING with {STABLE_KEY} expanded from STATUS, or, unstamped (STATUS None), without the entries naming one."""
    if status is None:
        return {key: value for key, value in mapping.items() if not STATUS_KEY.search(value)}

    def expand(match: re.Match) -> str:
        if match.group(1) not in status:
            raise SystemExit(f"assemble: {match.group(1)} is not in the workspace status (tools/workspace_status.sh "
                             "prints the keys; it leaves out a value it cannot determine)")
        return status[match.group(1)]

    return {key: STATUS_KEY.sub(expand, value) for key, value in mapping.items()}


def merge_env(base_env: list[str], env: dict[str, str]) -> list[str]:
    merged = dict(item.split("=", 1) for item in base_env or [DEFAULT_PATH])
    merged.update(env)
    return [f"{key}={value}" for key, value in merged.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--digest-out", type=Path, required=True)
    parser.add_argument("--base", type=Path)
    parser.add_argument("--stamp-info-file", type=Path, help="Bazel's stable-status.txt; given only when stamping")
    parser.add_argument("--layer", nargs=2, type=Path, action="append", default=[], metavar=("BLOB", "DESCRIPTOR"))
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text())
    status = status_values(args.stamp_info_file) if args.stamp_info_file else None

    blobs = args.out / "blobs/sha256"
    blobs.mkdir(parents=True)
    config, layers = {"architecture": spec["architecture"], "os": spec["os"], "config": {}}, []
    config["rootfs"] = {"type": "layers", "diff_ids": []}
    config["history"] = []
    if args.base:
        config, layers, base_blobs = read_base(args.base)
        for layer in layers:
            digest = layer["digest"].split(":")[1]
            shutil.copyfile(base_blobs / digest, blobs / digest)

    for blob, descriptor_file in args.layer:
        descriptor = json.loads(descriptor_file.read_text())
        shutil.copyfile(blob, blobs / descriptor["digest"].split(":")[1])
        layers.append({key: descriptor[key] for key in ("mediaType", "digest", "size")})
        config["rootfs"]["diff_ids"].append(descriptor["diff_id"])
        config["history"].append({"created": CREATED, "created_by": f"tools/oci layer {blob.name}"})

    runtime = config.setdefault("config", {})
    runtime["Env"] = merge_env(runtime.get("Env", []), spec.get("env", {}))
    for key, field in (("entrypoint", "Entrypoint"), ("cmd", "Cmd"), ("user", "User"), ("workdir", "WorkingDir")):
        if spec.get(key) is not None:
            runtime[field] = spec[key]
    labels = {**runtime.get("Labels", {}), **stamp(spec.get("labels", {}), status)}
    if labels:
        runtime["Labels"] = labels
    config["created"] = CREATED
    config["architecture"], config["os"] = spec["architecture"], spec["os"]

    config_bytes = canonical(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": put_blob(blobs, config_bytes), "size": len(config_bytes)},
        "layers": layers,
    }
    annotations = stamp(spec.get("annotations", {}), status)
    if annotations:
        manifest["annotations"] = annotations
    manifest_bytes = canonical(manifest)
    manifest_digest = put_blob(blobs, manifest_bytes)
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [
            {
                "mediaType": MANIFEST_MEDIA_TYPE,
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "platform": {"architecture": spec["architecture"], "os": spec["os"]},
                # umoci and skopeo address a manifest in a layout by this name (oci:DIR:latest).
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ],
    }
    (args.out / "index.json").write_bytes(canonical(index))
    (args.out / "oci-layout").write_bytes(canonical({"imageLayoutVersion": "1.0.0"}))
    args.digest_out.write_text(manifest_digest + "\n")


if __name__ == "__main__":
    main()
