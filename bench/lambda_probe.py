"""The function's own handler plus a warm-throughput probe, run in the container by bench/lambda_sizing.py.

Mounted at /opt/bench (never part of the image), as the naive baseline is. Every real event goes to
lambdas.analysis.handler.lambda_handler unchanged. {"bench": "throughput", ...} instead measures, in this process and
under this container's CPU quota, the model the handler loaded (model_cache: the same object, fp32 or int8 as
QUANTIZE_INT8 says) against the bare forward pass of that model, and returns the figures ({"bench": "memory"}: the
process's peak RSS and /tmp's use, after the longest batch):

* ours: SentimentModel.predict(texts) as batch.py calls it: tokenize, forward, softmax, labels;
* bare: the torch model's forward on the same batch already tokenized, nothing else: the floor for this model;
* ours again at the other torch thread counts the event names ("other_threads"), after both.

Each repeat times ours then bare back to back, so load from the rest of the machine falls on both alike; the medians
are compared. CPU seconds (this process's, time.process_time) are returned beside the wall time: under a CFS quota
items per CPU-second is the figure per vCPU.
"""

import os
import shutil
import statistics
import time
from pathlib import Path

from lambdas.analysis import model_cache
from lambdas.analysis.handler import lambda_handler as function_handler
from lambdas.shared.settings import load_settings

HEADLINES = (Path(__file__).resolve().parent / "headlines.txt").read_text().splitlines()


def lambda_handler(event, context):
    if isinstance(event, dict) and event.get("bench") == "throughput":
        return throughput(event.get("batches", [1, 8, 32]), event.get("repeats", 5), event.get("other_threads", []))
    if isinstance(event, dict) and event.get("bench") == "memory":
        return memory()
    return function_handler(event, context)


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def throughput(batches: list[int], repeats: int, other_threads: list[int]) -> dict:
    model, _ = model_cache.get_model(load_settings())  # loaded by the invocations before this one
    torch = model._torch
    texts = (HEADLINES * (max(batches) // len(HEADLINES) + 1))[:max(batches)]
    figures = {"torch_threads": torch.get_num_threads(), "batches": {}}
    for n in batches:
        batch = texts[:n]
        encoded = model._tokenizer(batch, padding=True, truncation=True, max_length=model.max_length,
                                   return_tensors="pt")

        def bare():
            with torch.inference_mode():
                model._model(**encoded)

        def ours():
            model.predict(batch, batch_size=n)

        ours(), bare()  # warm-up: the first call at a new shape pays one-off allocations
        runs = [(timed(ours), timed(bare)) for _ in range(repeats)]
        median = lambda values: statistics.median(values)  # noqa: E731
        figures["batches"][str(n)] = {
            "ours_s": median(o[0] for o, _ in runs), "bare_s": median(b[0] for _, b in runs),
            "ours_cpu_s": median(o[1] for o, _ in runs), "bare_cpu_s": median(b[1] for _, b in runs),
            "tokens_per_item": int(encoded["input_ids"].shape[1]),
        }
    figures["pid_cpus"] = len(os.sched_getaffinity(0))
    figures["other_threads"] = other_thread_counts(model, texts, batches, repeats, other_threads)
    return {**figures, **memory()}


def other_thread_counts(model, texts: list[str], batches: list[int], repeats: int, counts: list[int]) -> dict:
    """Ours at other torch thread counts, same process and batches: under a CFS quota below the CPUs torch sees,
    fewer threads may lose less to throttling. Median wall seconds per batch size, per thread count."""
    torch, chosen = model._torch, model._torch.get_num_threads()
    figures = {}
    try:
        for count in counts:
            torch.set_num_threads(count)
            figures[str(count)] = {}
            for n in batches:
                model.predict(texts[:n], batch_size=n)  # warm-up at this thread count
                figures[str(count)][str(n)] = statistics.median(
                    timed(lambda: model.predict(texts[:n], batch_size=n))[0] for _ in range(repeats))
    finally:
        torch.set_num_threads(chosen)
    return figures


def memory() -> dict:
    """This process's peak resident memory so far (VmHWM) and what /tmp holds: a tmpfs, charged to the container's
    cgroup here, separate ephemeral storage on Lambda."""
    return {"tmp_used_mb": round(shutil.disk_usage("/tmp").used / 2**20),
            "process_peak_rss_mb": round(_vm_hwm_kb() / 1024)}


def _vm_hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
