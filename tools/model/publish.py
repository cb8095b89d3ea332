"""Publish a Hugging Face model directory as the S3 artifact the Analysis Lambda loads.

    tools/bazel run //tools/model:publish -- --from DIR --to s3://BUCKET/distilbert/vX.Y.Z/model.tar.gz
        [--version V] [--allow-pickle] [--endpoint-url URL] [--dry-run] [--out FILE] [--json FILE]
        [--also tar.zst] [--also tar]

1. checks DIR (check.py): config.json with sentiment labels in id2label, tokenizer, weights; no pickle unless
   --allow-pickle;
2. packs it reproducibly (archive.py) under a top-level ``model/`` directory, adding ``model/publish.json`` with the
   torch and transformers versions of this run, the weights' SHA-256 and who made it;
3. extracts the tarball with the function's extractor, loads and runs it with the function's SentimentModel;
4. uploads it (upload.py) with metadata sha256 (which model_store verifies), torch-version, transformers-version,
   model-version and created-by; --dry-run stops before this step and makes no AWS call;
5. prints what the deployment needs as KEY=value lines on stdout (progress goes to stderr) and, with --json, as a
   JSON object: MODEL_S3_URI, MODEL_VERSION, MODEL_SHA256, and MODEL_BUCKET_NAME / MODEL_OBJECT_KEY (the Terraform
   inputs; infra/README.md).

--also FORMAT packs the same files as a .tar.zst or a plain .tar too, checks it the same way and uploads it beside
the .tar.gz (the key with its suffix replaced); its values are printed with the format as a suffix
(MODEL_S3_URI_TAR_ZST, MODEL_SHA256_TAR_ZST, MODEL_OBJECT_KEY_TAR_ZST). The function reads any of them (it tells the
format by the first bytes); the cheaper to decode, the shorter the cold start under Lambda's CPU (bench/REPORT.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import boto3

from lambdas.analysis import ml_import, provenance
from tools.model import PublishError
from tools.model.archive import CONTENT_TYPES, FORMATS, model_files, sha256_file, write_archive
from tools.model.check import check_artifact, check_source, weight_files
from tools.model.target import Target, parse_target, sibling
from tools.model.upload import upload

TOP_DIR = "model"  # the production artifact's layout (`tar -czf model.tar.gz model/`)
CREATED_BY = "//tools/model:publish"


def say(message: str) -> None:
    print(f"publish: {message}", file=sys.stderr, flush=True)


def user_path(value: str) -> Path:
    # `bazel run` starts the program in its runfiles tree; relative paths mean the caller's directory.
    return Path(os.environ.get("BUILD_WORKING_DIRECTORY", "."), value).resolve()


def pack(source: Path, tarball: Path, fmt: str = "tar.gz") -> dict[str, str]:
    """Pack source with its publish.json into tarball (format FMT); returns the S3 metadata (sha256 and versions)."""
    mods, _ = ml_import.wait()
    versions = provenance.library_versions(mods.torch, mods.transformers)
    weights = {name: sha256_file(source / name) for name in weight_files(model_files(source))}
    manifest = provenance.manifest(versions, weights, CREATED_BY)
    with open(tarball, "wb") as out:
        write_archive(out, source, fmt, top_dir=TOP_DIR,
                      extra_files={provenance.MANIFEST_NAME: json.dumps(manifest, indent=2, sort_keys=True).encode()})
    return {"sha256": sha256_file(tarball), **{f"{lib}-version": v for lib, v in versions.items()}}


def deployment_values(target: Target, sha256: str) -> dict[str, str]:
    return {"MODEL_S3_URI": target.uri, "MODEL_VERSION": target.version, "MODEL_SHA256": sha256,
            "MODEL_BUCKET_NAME": target.bucket, "MODEL_OBJECT_KEY": target.key}


def publish_one(args: argparse.Namespace, source: Path, tarball: Path, target: Target, fmt: str) -> str:
    """Pack, check and (unless --dry-run) upload one format; returns its SHA-256."""
    say(f"packing {source} -> {tarball}")
    metadata = pack(source, tarball, fmt)
    say(f"sha256 {metadata['sha256']} ({tarball.stat().st_size} bytes); loading it as the function does")
    for text, prediction in check_artifact(tarball, TOP_DIR):
        say(f"  {text!r} -> {prediction.model_label} ({prediction.score:.3f})")
    if args.dry_run:
        say("dry run: nothing uploaded")
    else:
        metadata.update({"model-version": target.version, "created-by": CREATED_BY})
        uploaded = upload(boto3.client("s3", endpoint_url=args.endpoint_url), tarball, target, metadata,
                          content_type=CONTENT_TYPES[fmt])
        say(f"uploaded to {target.uri}" if uploaded else f"{target.uri} already holds these bytes: not uploaded again")
    return metadata["sha256"]


def publish(args: argparse.Namespace, tarball: Path) -> dict[str, str]:
    target = parse_target(args.to, args.version)  # before the slow steps: a bad --to fails at once
    others = {fmt: sibling(target, fmt) for fmt in args.also}
    source = user_path(args.from_dir)
    check_source(source, allow_pickle=args.allow_pickle)
    values = deployment_values(target, publish_one(args, source, tarball, target, "tar.gz"))
    for fmt, other in others.items():
        sha256 = publish_one(args, source, tarball.with_name(f"model.{fmt}"), other, fmt)
        suffix = fmt.replace(".", "_").upper()
        values.update({f"MODEL_S3_URI_{suffix}": other.uri, f"MODEL_SHA256_{suffix}": sha256,
                       f"MODEL_OBJECT_KEY_{suffix}": other.key})
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="from_dir", required=True, metavar="DIR",
                        help="the model directory (save_pretrained's output: config.json, weights, tokenizer)")
    parser.add_argument("--to", required=True, metavar="S3_URI",
                        help="s3://BUCKET/KEY of the artifact, e.g. s3://models/distilbert/v1.2.3/model.tar.gz")
    parser.add_argument("--version", help="MODEL_VERSION (default: the key's vX.Y.Z directory)")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="pack pickled files (pytorch_model.bin...): only for files you trust")
    parser.add_argument("--endpoint-url", help="S3 endpoint, e.g. a local moto server's http://127.0.0.1:PORT")
    parser.add_argument("--dry-run", action="store_true", help="check and pack, upload nothing")
    parser.add_argument("--out", metavar="FILE", help="keep the tarball here (default: a temporary file)")
    parser.add_argument("--json", metavar="FILE", help="also write the deployment values as a JSON object here")
    parser.add_argument("--also", action="append", default=[], choices=[f for f in FORMATS if f != "tar.gz"],
                        help="also publish this format beside the .tar.gz (cheaper to decode on a cold start)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="publish-") as scratch:
            values = publish(args, user_path(args.out) if args.out else Path(scratch, "model.tar.gz"))
        if args.json:
            user_path(args.json).write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    except (PublishError, OSError) as exc:  # OSError: an unwritable --out or --json, a file gone while packing
        say(f"error: {exc}")
        return 1
    for key, value in values.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
