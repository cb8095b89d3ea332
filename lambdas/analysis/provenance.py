"""The model's publish.json: the torch and transformers versions it was validated with, against the running ones.

"PyTorch version mismatch with model" is a high risk of the specification: a model saved and checked with one
torch/transformers may load differently, or fail in subtle ways, under another. tools/model/publish.py writes
``publish.json`` into the artifact (beside config.json) with the versions it loaded and ran the model with; on a
cold start the function compares them with its own and logs a warning when they differ. It still serves the model:
the versions are a warning sign, not proof of a fault, and a model published without the tool has no publish.json
at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from lambdas.shared.observability import logger

MANIFEST_NAME = "publish.json"
LIBRARIES = ("torch", "transformers")


def library_versions(torch: ModuleType, transformers: ModuleType) -> dict[str, str]:
    """The versions publish.json records and the function compares, e.g. {"torch": "2.13.0+cpu", ...}."""
    return {"torch": str(torch.__version__), "transformers": str(transformers.__version__)}


def manifest(versions: Mapping[str, str], weights_sha256: Mapping[str, str], created_by: str) -> dict[str, Any]:
    """publish.json's content (written by tools/model/publish.py; its keys live here, beside their reader)."""
    return {**{lib: versions[lib] for lib in LIBRARIES}, "weights_sha256": dict(weights_sha256),
            "created_by": created_by}


def recorded_versions(model_dir: Path) -> dict[str, str] | None:
    """The library versions the model's publish.json records; None when it has none. ValueError when unreadable."""
    try:
        data = json.loads((model_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"{MANIFEST_NAME} is not a JSON object")
    return {lib: str(data[lib]) for lib in LIBRARIES if lib in data}


def warn_on_version_mismatch(model_dir: Path, running: Mapping[str, str]) -> list[str]:
    """Log a warning when publish.json records other library versions than ``running``; returns the libraries
    that differ (empty when they match or nothing is recorded)."""
    try:
        recorded = recorded_versions(model_dir)
    except (OSError, ValueError) as exc:  # the model itself loaded: its notes cannot fail the function
        logger.warning("Model's publish.json is unreadable", extra={"model_dir": str(model_dir), "error": str(exc)})
        return []
    if not recorded:
        return []
    differing = [lib for lib in LIBRARIES if lib in recorded and recorded[lib] != running.get(lib)]
    if differing:
        logger.warning("Model was published with other library versions", extra={
            "differing": differing, "recorded_versions": recorded,
            "running_versions": {lib: running.get(lib) for lib in LIBRARIES}, "model_dir": str(model_dir)})
    return differing
