"""Import torch + transformers in a background thread.

Importing them takes seconds on a cold Lambda - about as long as downloading
and extracting the model - so the handler module starts this import when it
is loaded and the model loader joins it only right before it needs the
classes. The two phases overlap instead of adding up.

Caveat: transformers' lazy top-level module is not safe to use from two
threads at once. Code running in the same process (tests, probes) must not
import from torch/transformers until :func:`wait` has returned; the
function's own code only touches them through :func:`wait`.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

# The function never talks to a model hub, wherever it runs: make that explicit before anything imports
# huggingface_hub. (Where caches go is the image's business: HF_HOME and friends are in its environment.)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class MLImportError(RuntimeError):
    """torch/transformers could not be imported."""


@dataclass(frozen=True)
class MLModules:
    torch: ModuleType
    transformers: ModuleType
    auto_tokenizer: Any
    auto_model: Any
    import_ms: float  # how long the import itself took (in the background)


_ARCHITECTURE_MODULES = (
    "transformers.modeling_utils",
    "transformers.models.auto.modeling_auto",
    "transformers.models.auto.tokenization_auto",
    "transformers.models.distilbert.modeling_distilbert",
    "transformers.models.distilbert.tokenization_distilbert",
    "transformers.models.distilbert.tokenization_distilbert_fast",
)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_result: MLModules | None = None
_error: BaseException | None = None


def _run() -> None:
    global _result, _error
    started = time.perf_counter()
    try:
        import torch
        import transformers
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        # from_pretrained imports the architecture's modules lazily: seconds of imports that would land on
        # the critical path after the download. The model contract is DistilBERT (image label
        # sentiment.model-contract), so import them here, overlapped with the download. Another
        # architecture still works; it just pays its imports at load time.
        for name in _ARCHITECTURE_MODULES:
            try:
                importlib.import_module(name)
            except ImportError:
                pass
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        _result = MLModules(torch, transformers, AutoTokenizer, AutoModelForSequenceClassification,
                            (time.perf_counter() - started) * 1000)
    except BaseException as exc:  # reported to the caller of wait()
        _error = exc


def start() -> None:
    """Begin the import in the background (idempotent)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_run, name="ml-import", daemon=True)
            _thread.start()


def wait() -> tuple[MLModules, float]:
    """Join the import; returns the modules and the ms spent waiting here."""
    start()
    started = time.perf_counter()
    assert _thread is not None
    _thread.join()
    waited_ms = (time.perf_counter() - started) * 1000
    if _error is not None:
        raise MLImportError(f"failed to import torch/transformers: {_error!r}") from _error
    assert _result is not None
    return _result, waited_ms
