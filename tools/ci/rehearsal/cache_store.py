"""The cache service, emulated with a local store: entries scoped by ref and by version (a hash of the `path` input,
as actions/cache computes it, so a different path list never restores), keys immutable, prefix matches take the
newest entry."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


CACHE_COMPRESSION = "zstd-without-long"  # what actions/cache picks on ubuntu-24.04 (zstd installed)
CACHE_VERSION_SALT = "1.0"


def cache_version(paths: list[str]) -> str:
    return hashlib.sha256("|".join(list(paths) + [CACHE_COMPRESSION, CACHE_VERSION_SALT]).encode()).hexdigest()


@dataclass
class CacheEntry:
    key: str
    version: str
    scope: str
    created: float
    directory: Path | None = None

    @property
    def archive(self) -> Path:
        assert self.directory is not None
        return self.directory / "cache.tar"


def find_cache_entry(entries: list[CacheEntry], key: str, restore_keys: list[str], version: str,
                     scopes: list[str]) -> CacheEntry | None:
    """GitHub's matching: in the run's own ref, an exact key, then the newest entry whose key starts with the key,
    then with each restore key in order; then the same in the next scope (base branch, default branch)."""
    for scope in scopes:
        candidates = [e for e in entries if e.scope == scope and e.version == version]
        exact = [e for e in candidates if e.key == key]
        if exact:
            return max(exact, key=lambda e: e.created)
        for prefix in [key] + restore_keys:
            matches = [e for e in candidates if e.key.startswith(prefix)]
            if matches:
                return max(matches, key=lambda e: e.created)
    return None


def validate_cache_key(key: str) -> None:
    if not key:
        raise ValueError("Key is not specified.")
    if len(key) > 512:
        raise ValueError(f"Key Validation Error: {key} cannot be larger than 512 characters.")
    if "," in key:
        raise ValueError(f"Key Validation Error: {key} cannot contain commas.")


class CacheStore:
    def __init__(self, root: Path):
        self.root = root
        self.entries_dir = root / "entries"

    def entries(self) -> list[CacheEntry]:
        result = []
        if not self.entries_dir.is_dir():
            return result
        for meta in sorted(self.entries_dir.glob("*/meta.json")):
            data = json.loads(meta.read_text())
            result.append(CacheEntry(data["key"], data["version"], data["scope"], data["created"], meta.parent))
        return result

    def entry_dir(self, key: str, version: str, scope: str) -> Path:
        return self.entries_dir / hashlib.sha256(f"{scope}\n{version}\n{key}".encode()).hexdigest()[:24]

    def add(self, key: str, version: str, scope: str, paths: list[str], archive_writer: Callable[[Path], None]) -> Path:
        final = self.entry_dir(key, version, scope)
        self.entries_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=self.entries_dir))
        try:
            archive_writer(staging / "cache.tar")
            (staging / "meta.json").write_text(json.dumps(
                {"key": key, "version": version, "scope": scope, "paths": paths, "created": time.time()}, indent=2))
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final
