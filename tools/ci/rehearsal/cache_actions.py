"""actions/cache/restore and actions/cache/save as steps, against the emulated cache service: the inputs, the
outputs (cache-hit is left unset on a miss, actions/cache#1466), and tar run as the runner user."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

from .cache_store import CacheStore, cache_version, find_cache_entry, validate_cache_key
from .console import log, one_line
from .globs import glob_paths, parse_globs
from .layout import Layout
from .step_results import StepFailed, StepResult


def input_lines(value: str) -> list[str]:
    """actions/cache's getInputAsArray: one item a line, trimmed, empty lines dropped."""
    return [re.sub(r"^!\s+", "!", line).strip() for line in value.split("\n") if line.strip()]


class CacheActions:
    """The cache steps of one run in REF: what they restore from STORE, and the keys they saved (for the summary)."""

    def __init__(self, store: CacheStore, layout: Layout, ref: str, dry: bool):
        self.store = store
        self.layout = layout
        self.ref = ref
        self.dry = dry
        self.saved_keys: list[str] = []

    def scopes(self) -> list[str]:
        return [self.ref] if self.ref == "refs/heads/main" else [self.ref, "refs/heads/main"]

    def restore(self, inputs: dict[str, str], result: StepResult, set_output: Callable[[str, str], None]) -> None:
        key = inputs.get("key", "")
        paths = input_lines(inputs.get("path", ""))
        restore_keys = input_lines(inputs.get("restore-keys", ""))
        try:
            validate_cache_key(key)
            for k in restore_keys:
                validate_cache_key(k)
            if not paths:
                raise ValueError("Input required and not supplied: path")
        except ValueError as e:
            raise StepFailed(str(e)) from None
        set_output("cache-primary-key", key)
        found = find_cache_entry(self.store.entries(), key, restore_keys, cache_version(paths), self.scopes())
        if found is None:
            # cache-hit stays unset on a miss (actions/cache#1466); fail-on-cache-miss fails the step
            message = f"Cache not found for input keys: {', '.join([key] + restore_keys)}"
            log(f"    {message}")
            result.notes.append("miss")
            if inputs.get("fail-on-cache-miss", "false").lower() == "true":
                raise StepFailed(
                    f"Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {key}")
            result.outcome = "success"
            return
        exact = found.key.casefold() == key.casefold()
        size = found.archive.stat().st_size
        result.notes.append(f"{'hit' if exact else 'partial hit'}: {found.key} ({size / 2**20:.0f} MiB)")
        result.outcome = "success"
        if self.dry or inputs.get("lookup-only", "false").lower() == "true":
            log(f"    Cache found and can be restored from key: {found.key} ({'exact' if exact else 'prefix'} match)")
            set_output("cache-matched-key", found.key)
            set_output("cache-hit", "true" if exact else "false")
            return
        # As the action does: tar -xf <archive> -P -C $GITHUB_WORKSPACE, as the runner user.
        with open(found.archive, "rb") as archive:
            tar = subprocess.run(["runuser", "-u", self.layout.user, "--", "tar", "-xf", "-", "-P", "-C",
                                  str(self.layout.workspace)], stdin=archive, text=True, capture_output=True)
        if tar.returncode != 0:
            # the action only warns when the download or the extraction fails, and then reports a miss
            result.warnings.append(f"Failed to restore: tar exited {tar.returncode}: {one_line(tar.stderr)}")
            log(f"    warning: {result.warnings[-1]}")
            return
        set_output("cache-matched-key", found.key)
        set_output("cache-hit", "true" if exact else "false")
        log(f"    Cache restored from key: {found.key}")

    def save(self, inputs: dict[str, str], result: StepResult) -> None:
        """actions/cache/save: never fails the step; whatever goes wrong is a warning and nothing is stored."""
        result.outcome = "success"
        key = inputs.get("key", "")
        paths = input_lines(inputs.get("path", ""))

        def warn(message: str) -> None:
            result.warnings.append(message)
            result.notes.append(f"NOT SAVED: {message}")
            log(f"    warning: {message}")
            log("    warning: Cache save failed.")

        try:
            validate_cache_key(key)
        except ValueError as e:
            return warn(str(e))
        version = cache_version(paths)
        if any(e.key == key and e.version == version and e.scope == self.ref for e in self.store.entries()):
            message = f"Failed to save: Unable to reserve cache with key {key}, another job may be creating this cache."
            log(f"    {message}")
            result.notes.append("key already present: nothing saved (keys are immutable)")
            return
        if self.dry:
            log(f"    would save {paths} under {key} (as {self.layout.user})")
            return
        matches = glob_paths(parse_globs(paths, str(self.layout.workspace), str(self.layout.home), False))
        if not matches:
            return warn("Path Validation Error: Path(s) specified in the action for caching do(es) not exist, "
                        "hence no cache is being saved.")
        relative = [os.path.relpath(p, self.layout.workspace) for p in matches]

        def write(target: Path) -> None:
            # tar -cf - -P -C $GITHUB_WORKSPACE --files-from <manifest>, as the runner user (who must read it all)
            manifest = self.layout.temp / f"manifest-{uuid.uuid4()}.txt"
            manifest.write_text("\n".join(relative) + "\n")
            with open(target, "wb") as out:
                tar = subprocess.run(["runuser", "-u", self.layout.user, "--", "tar", "--posix", "-cf", "-", "-P",
                                      "-C", str(self.layout.workspace), "--files-from", str(manifest)],
                                     stdout=out, stderr=subprocess.PIPE, text=False)
            manifest.unlink(missing_ok=True)
            if tar.returncode != 0:
                raise StepFailed(f"tar exited {tar.returncode}: {one_line(tar.stderr.decode(errors='replace'))}")

        try:
            where = self.store.add(key, version, self.ref, paths, write)
        except StepFailed as e:
            return warn(f"Failed to save: {e}")
        size = (where / "cache.tar").stat().st_size
        self.saved_keys.append(key)
        result.notes.append(f"saved {key} ({size / 2**20:.0f} MiB)")
        log(f"    Cache saved with key: {key} ({size / 2**20:.0f} MiB)")
