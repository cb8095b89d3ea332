"""Runs INSIDE the image (under runc, Lambda's CPU quota): the cold path's steps one by one, CPU and wall time each.

    python3.11 /opt/bench/lever_probe.py /opt/artifacts

/opt/artifacts holds model.tar.gz, model.tar.zst, model.tar (bench/cold_path_levers.py packs them). Each step reads
the artifact from memory, so only the step's own work is timed (the network is the container benchmark's business).
Imports are timed in fresh interpreters, since a module imports once per process. Prints one JSON line.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

STEP = 1 << 20
IMPORT_VARIANTS = {
    # What ml_import does today: torch, transformers' auto classes and the DistilBERT modules.
    "ml_import (auto classes + DistilBERT modules)": "from lambdas.analysis import ml_import; ml_import._run()",
    # Only what DistilBERT inference needs: its model class and its tokenizer (tokenizers-backed in transformers 5),
    # no auto classes.
    "DistilBERT classes only": ("import torch; from transformers.models.distilbert.modeling_distilbert import "
                                "DistilBertForSequenceClassification; from transformers.models.distilbert."
                                "tokenization_distilbert import DistilBertTokenizer"),
    "torch alone": "import torch",
}


def timed(fn, repeats=3):
    """min CPU and wall seconds of REPEATS calls (the minimum: the least disturbed by the host's other work)."""
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {"cpu_ms": round(min(cpu) * 1000), "wall_ms": round(min(wall) * 1000)}


def drain(reader):
    while reader.read(STEP):
        pass


def main(artifacts: Path) -> dict:
    from isal import isal_zlib

    from lambdas.shared import decompress
    from lambdas.shared.safe_tar import extract_tar_stream

    blobs = {name: (artifacts / name).read_bytes() for name in ("model.tar.gz", "model.tar.zst", "model.tar")}
    gz = blobs["model.tar.gz"]
    out = {"bytes": {name: len(data) for name, data in blobs.items()}, "steps": {}}
    steps = out["steps"]
    steps["gunzip, zlib"] = timed(lambda: zlib.decompress(gz, wbits=31))
    steps["gunzip, ISA-L (isal)"] = timed(lambda: isal_zlib.decompress(gz, wbits=31))
    steps["gunzip, our reader (ISA-L, 1 MiB steps)"] = timed(lambda: drain(decompress.tar_stream(io.BytesIO(gz))[1]))
    steps["zstd decode, our reader"] = timed(
        lambda: drain(decompress.tar_stream(io.BytesIO(blobs["model.tar.zst"]))[1]))
    steps["SHA-256 of the .tar.gz"] = timed(lambda: hashlib.sha256(gz).digest())
    steps["CRC-32 of the .tar.gz (an S3 checksum)"] = timed(lambda: zlib.crc32(gz))
    for name, data in blobs.items():
        def extract(data=data):
            scratch = Path(tempfile.mkdtemp(dir="/tmp"))
            try:
                extract_tar_stream(io.BytesIO(data), scratch)
            finally:
                shutil.rmtree(scratch)
        steps[f"extract {name} to /tmp (decode + tar + write)"] = timed(extract)
    for name, code in IMPORT_VARIANTS.items():
        runs = []
        for _ in range(3):
            script = ("import time, json; c0, w0 = time.process_time(), time.perf_counter(); " + code
                      + "; print(json.dumps({'cpu_ms': round((time.process_time() - c0) * 1000), "
                        "'wall_ms': round((time.perf_counter() - w0) * 1000)}))")
            done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"import variant {name!r} failed:\n{done.stderr[-2000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        steps[f"import: {name}"] = {k: min(r[k] for r in runs) for k in ("cpu_ms", "wall_ms")}
    return out


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print("LEVERS " + json.dumps(main(Path(sys.argv[1]))), flush=True)
