"""One cold start, in a fresh process: either the handler's real path or the naive baseline.

    cold_path_probe.py ours|naive      (configuration from the environment, as in Lambda)

Prints one JSON line: wall time from process start to the first prediction, by phase, and peak RSS. Run by
bench/inference_latency.py; each run is its own process so imports and caches are cold.
"""

import time

PROCESS_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from tools.procfs import status_kb  # noqa: E402


def ours() -> dict:
    # Importing the handler starts the torch/transformers import in the background, as in Lambda's init.
    from lambdas.analysis import handler, model_cache  # noqa: F401
    from lambdas.shared.settings import Settings

    model, report = model_cache.get_model(Settings.from_env())
    ready = time.perf_counter()
    prediction = model.predict(["Markets rally as inflation cools"], batch_size=1)[0]
    first = time.perf_counter()
    return {
        "download_extract_ms": report.download_extract_ms,
        "import_ms": report.import_ms,
        "import_wait_ms": report.import_wait_ms,
        "load_ms": report.load_ms,
        "model_ready_ms": (ready - PROCESS_START) * 1000,
        "first_prediction_ms": (first - PROCESS_START) * 1000,
        "label": prediction.label,
    }


def naive() -> dict:
    """The baseline of bench/naive_handler.py: download_file to disk, untar, then pipeline()."""
    from bench.naive_handler import load

    classifier, phases = load(os.environ["MODEL_S3_URI"], Path(os.environ["MODEL_DIR"]))
    ready = time.perf_counter()
    result = classifier("Markets rally as inflation cools")[0]
    first = time.perf_counter()
    return {
        **phases,
        "model_ready_ms": (ready - PROCESS_START) * 1000,
        "first_prediction_ms": (first - PROCESS_START) * 1000,
        "label": result["label"].lower(),
    }


if __name__ == "__main__":
    figures = {"ours": ours, "naive": naive}[sys.argv[1]]()
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec (the bench process).
    figures["peak_rss_mb"] = status_kb("self", "VmHWM")["VmHWM"] / 1024
    print("COLD-PATH " + json.dumps(figures))
