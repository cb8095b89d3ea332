"""Keep one loaded SentimentModel per container (warm invocations reuse it).

The cold path is: fetch/extract (model_store) -> join the background
torch/transformers import -> load. The import was started when the handler
module was imported, so it runs while the tarball downloads. Each phase's
time is logged; the total is reported as ModelLoadTimeMs by the handler. A model whose publish.json records other
torch/transformers versions than the running ones is served with a warning (provenance.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from lambdas.analysis import ml_import, provenance
from lambdas.analysis.sentiment import SentimentModel
from lambdas.shared import aws_clients
from lambdas.shared.model_store import STORE, ModelStore
from lambdas.shared.observability import logger
from lambdas.shared.settings import Settings


@dataclass(frozen=True)
class LoadReport:
    total_ms: float
    download_extract_ms: float
    import_ms: float
    import_wait_ms: float
    load_ms: float
    fetched: bool
    model_sha256: str | None


_lock = threading.Lock()
_slot: tuple[tuple, SentimentModel] | None = None


def _key(settings: Settings) -> tuple:
    return (settings.model_s3_uri, str(settings.model_path), settings.model_sha256,
            str(settings.model_dir), settings.quantize_int8, settings.max_tokens)


def get_model(settings: Settings, store: ModelStore = STORE) -> tuple[SentimentModel, LoadReport | None]:
    """Return the model; the LoadReport is set only when this call loaded it."""
    global _slot
    key = _key(settings)
    with _lock:
        if _slot is not None and _slot[0] == key:
            return _slot[1], None
        started = time.perf_counter()
        local = store.ensure_local(settings, aws_clients.s3)
        logger.info("Model files ready", extra={
            "phase": "download_extract", "duration_ms": round(local.download_extract_ms, 1),
            "fetched": local.fetched, "bytes": local.compressed_bytes, "model_dir": str(local.path)})
        mods, waited_ms = ml_import.wait()
        logger.info("ML libraries imported", extra={
            "phase": "import", "duration_ms": round(mods.import_ms, 1), "waited_ms": round(waited_ms, 1)})
        model = SentimentModel.load(local.path, quantize_int8=settings.quantize_int8,
                                    max_tokens=settings.max_tokens)
        logger.info("Model weights loaded", extra={
            "phase": "load", "duration_ms": round(model.load_ms, 1), "quantized_int8": settings.quantize_int8,
            "max_length": model.max_length})
        provenance.warn_on_version_mismatch(local.path, provenance.library_versions(mods.torch, mods.transformers))
        report = LoadReport(
            total_ms=(time.perf_counter() - started) * 1000,
            download_extract_ms=local.download_extract_ms,
            import_ms=mods.import_ms,
            import_wait_ms=waited_ms,
            load_ms=model.load_ms,
            fetched=local.fetched,
            model_sha256=local.sha256,
        )
        _slot = (key, model)
        return model, report


def clear() -> None:
    """Forget the loaded model (tests only)."""
    global _slot
    with _lock:
        _slot = None
