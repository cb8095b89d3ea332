"""hashFiles(): the digest a cache key is made of, computed as the runner's hashFiles script computes it."""

from __future__ import annotations

import hashlib
import os

from .globs import glob_paths, parse_globs


def hash_files(patterns: list[str], workspace: str) -> str:
    """hashFiles(): SHA-256 over the SHA-256 digests of the matched files inside the workspace, in match order;
    empty when nothing matches (as the runner's hashFiles script computes it)."""
    workspace = os.path.normpath(workspace)
    total, matched = hashlib.sha256(), False
    for path in glob_paths(parse_globs(patterns, workspace), follow_symlinks=False):
        if not path.startswith(workspace + "/") or os.path.isdir(path):
            continue
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        total.update(digest.digest())
        matched = True
    return total.hexdigest() if matched else ""
