"""Pushes an OCI image layout with skopeo and prints the pushed reference, repository@sha256:...

    tools/bazel run //lambdas/analysis:push [-- --repository REGISTRY/REPO] [--tag T]... [--handoff-file F]

The repository comes from --repository, else $OCI_PUSH_REPOSITORY, else the target's default. skopeo speaks the
registry protocol; ECR credentials come from amazon-ecr-credential-helper (docker-credential-ecr-login) through
a skopeo auth file, so the usual AWS credential chain applies. The manifest goes up unchanged
(--preserve-digests): what is pushed is byte for byte what was built and tested, and it is a single image
manifest, never an index (Lambda rejects indexes).

Pushing again is a no-op: when the repository already serves the built manifest digest under every requested tag,
nothing is copied, and the handoff file and the printed reference are written as on a first push. A registry with
immutable tags (ECR) rejects a manifest PUT to an existing tag even when the digest is identical
(https://github.com/aws/containers-roadmap/issues/2179), so re-running a deploy must not attempt that upload.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.oci.layout import MANIFEST_MEDIA_TYPES, image_manifest

ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def fail(message: str) -> None:
    print(f"push: {message}", file=sys.stderr)
    sys.exit(1)


def local_digest(layout: Path) -> str:
    try:
        return image_manifest(layout)[0]["digest"]
    except ValueError as error:
        fail(str(error))


def transport_flags(host: str, tmp: Path) -> tuple[list[str], list[str]]:
    """(flags for copy's destination, flags for inspect): TLS off on loopback only, ECR auth via the helper."""
    dest, inspect = [], []
    if host.split(":")[0] in LOOPBACK_HOSTS or host.startswith("[::1]"):
        dest.append("--dest-tls-verify=false")
        inspect.append("--tls-verify=false")
    if ECR_HOST.match(host):
        authfile = tmp / "auth.json"
        authfile.write_text(json.dumps({"credHelpers": {host: "ecr-login"}}))
        dest.append(f"--dest-authfile={authfile}")
        inspect.append(f"--authfile={authfile}")
    return dest, inspect


def served_digest(program: str, reference: str, inspect_flags: list[str]) -> str | None:
    """Digest of the manifest the registry serves at REFERENCE (repo:tag or repo@digest), None when it serves none.

    The digest is computed from the raw bytes, so it is the same one the registry addresses the manifest by. Any
    failure (unknown tag or digest, no such repository, no access) counts as "not there": the copy that follows
    then reports the real error, if there is one.
    """
    result = subprocess.run([program, "--insecure-policy", "inspect", "--raw", *inspect_flags, f"docker://{reference}"],
                            capture_output=True)
    return f"sha256:{hashlib.sha256(result.stdout).hexdigest()}" if result.returncode == 0 else None


def skopeo(program: str, *args: str) -> str:
    result = subprocess.run([program, "--insecure-policy", *args], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"skopeo {args[0]} failed:\n{result.stderr.strip()}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, required=True, help="OCI image layout directory")
    parser.add_argument("--default-repository", default="")
    parser.add_argument("--repository", default="", help="registry/repository to push to")
    parser.add_argument("--tag", action="append", default=[], help="tag(s) to push; default build-<digest prefix>")
    parser.add_argument("--handoff-file", default="", help="workspace-relative JSON file for Terraform")
    # oci_push passes the skopeo toolchain's binary; tests and scripts that run push.py directly get $OCI_SKOPEO,
    # else skopeo from PATH (the sysroot's).
    parser.add_argument("--skopeo", default=os.environ.get("OCI_SKOPEO", "skopeo"), help="the skopeo binary")
    args = parser.parse_args()

    repository = args.repository or os.environ.get("OCI_PUSH_REPOSITORY", "") or args.default_repository
    if not repository:
        fail("no repository to push to: pass --repository REGISTRY/REPO or set OCI_PUSH_REPOSITORY "
             "(e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/analysis-lambda)")
    host = repository.split("/", 1)[0]
    digest = local_digest(args.image)
    # A registry needs a tag or a digest to store a manifest under; the default tag is derived from the content, so
    # the same image always gets the same tag and a second push finds it in place (below).
    tags = args.tag or [f"build-{digest.split(':')[1][:12]}"]

    with tempfile.TemporaryDirectory(prefix="oci-push-") as tmp:
        dest_flags, inspect_flags = transport_flags(host, Path(tmp))
        # Already there (a re-run of the same build)? Then copying would only re-PUT the manifest, which immutable
        # tags reject. A tag that is missing, or that names another digest, is still copied (and fails on ECR if
        # the tag exists: retagging is exactly what immutability forbids).
        held = served_digest(args.skopeo, f"{repository}@{digest}", inspect_flags) == digest
        for tag in tags:
            if held and served_digest(args.skopeo, f"{repository}:{tag}", inspect_flags) == digest:
                print(f"push: {repository}:{tag} already is {digest}; nothing to upload", file=sys.stderr)
                continue
            digestfile = Path(tmp) / "digest"
            print(f"push: {repository}:{tag}", file=sys.stderr)
            skopeo(args.skopeo, "copy", "--preserve-digests", f"--digestfile={digestfile}", *dest_flags,
                   f"oci:{args.image}", f"docker://{repository}:{tag}")
            pushed = digestfile.read_text().strip()
            if pushed != digest:
                fail(f"the registry stored {pushed}, but the built manifest is {digest}")
        raw = json.loads(skopeo(args.skopeo, "inspect", "--raw", *inspect_flags, f"docker://{repository}@{digest}"))
        if raw.get("mediaType") not in MANIFEST_MEDIA_TYPES:
            fail(f"{repository}@{digest} reads back as {raw.get('mediaType')}, not an image manifest")

    reference = f"{repository}@{digest}"
    if args.handoff_file:
        workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
        handoff = workspace / args.handoff_file
        handoff.parent.mkdir(parents=True, exist_ok=True)
        handoff.write_text(json.dumps({"image_repository_url": repository, "image_digest": digest}, indent=2) + "\n")
        print(f"push: wrote {handoff}", file=sys.stderr)
    print(reference)


if __name__ == "__main__":
    main()
