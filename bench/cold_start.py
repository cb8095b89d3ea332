"""Cold start of the real image under runc with Lambda's limits: ours, the naive baseline and the floor, same run.

    tools/bazel run //bench:cold_start [-- --repeats 3] [--quota-only | --no-cpu-quota] [--formats tar.gz,tar]
        [--cpu-shares N] [--ranged-parts N --name cold_start_ranged]

Every container runs the image behind the Runtime API emulator with Lambda's limits (2048 MB cgroup, read-only root,
tmpfs /tmp) and, unless lifted, Lambda's CPU for that memory (a 1.158-vCPU CFS quota). The model is a full-size
DistilBERT-architecture one with random weights, in moto's S3 on loopback (moto runs in its own process, outside the
container's cgroup, as S3 is outside Lambda's). Each cold start is a fresh container; "container start -> first
result" is the emulator's init (runtime start to its first `next`) plus the first invocation (one SNS record).

Three kinds of container, interleaved (repeat 1 of each, then repeat 2 of each, ...) so that a change in the host's
load falls on all of them alike:
- ours: the function as shipped, reading MODEL_S3_URI (one container per artifact format in --formats);
- naive: bench/naive_handler.py (mounted, not in the image): download_file, untar, pipeline();
- floor: the function with the model already in /tmp (the extracted model bind-mounted there, MODEL_PATH): import +
  weights load + one inference, nothing to download. No cold path can beat it in this image.
Both CPU settings run in the same run (under the quota and unconstrained) unless --quota-only / --no-cpu-quota.
Writes its section of bench/REPORT.md (cold_start_report.py) and bench/results/cold_start.json.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench import cold_start_report, report
from lambdas.shared.safe_tar import extract_tar_stream
from tools.local.environment import ExecutionEnvironment
from tools.local.services import BUCKET, MODEL_VERSION, Services
from tools.model.archive import CONTENT_TYPES, sha256_file, write_archive
from tools.model.target import parse_target
from tools.model.upload import upload
from tools.oci import runc_lambda
from tools.testing.events import make_item, sns_event
from tools.testing.tiny_model import build_artifact

HERE = Path(__file__).resolve().parent
PHASES = ("download_extract_ms", "import_ms", "import_wait_ms", "model_init_ms", "load_time_ms")
FLOOR_MODEL = "/tmp/floor-model"  # inside the container's /tmp tmpfs (mounted after it)
QUOTA, UNCONSTRAINED = "quota", "unconstrained"


def one_cold_start(env: ExecutionEnvironment, services: Services, n: int, phases: bool) -> dict:
    item = make_item(1000 + n, "Markets rally as inflation cools")
    services.seed([item])
    result = env.invoke(sns_event(item))
    if not result.ok:
        raise SystemExit(f"bench: {env.name}: invocation failed: {result.payload.decode()[:2000]}")
    record = env.emulator.invocations[-1]
    run = {"init_ms": record.init_ms, "first_invocation_ms": record.duration_ms,
           "start_to_first_result_ms": record.init_ms + record.duration_ms,
           "peak_memory_mb": round(env.peak_memory_bytes / 2**20), "load_1min": round(os.getloadavg()[0], 2)}
    if phases:
        loaded = [l for l in env.container_log() if l.get("message") == "Model loaded successfully"][-1]
        run.update({k: loaded[k] for k in PHASES})
    return run


def kinds(args, artifact_dir: Path, pins: dict[str, str]) -> dict[str, dict]:
    """name -> ExecutionEnvironment options (and whether its log has our phases); the floor first, so a broken
    setup fails within the first minute. pins: each format's SHA-256, set as MODEL_SHA256 as Terraform pins the one
    artifact a function reads."""
    found = {"floor": {"mounts": [(str(artifact_dir), FLOOR_MODEL, True)], "phases": True,
                       "extra_env": {"MODEL_S3_URI": None, "MODEL_SHA256": None, "MODEL_PATH": FLOOR_MODEL}}}
    found.update({f"ours ({fmt})": {"extra_env": {"MODEL_S3_URI": f"s3://{BUCKET}/{key}", "MODEL_SHA256": pins[fmt]},
                                    "phases": True}
                  for fmt, key in artifact_keys(args.formats).items()})
    if args.ranged_parts > 1:  # the first format again, fetched as parallel ranged GETs (MODEL_DOWNLOAD_PARTS)
        fmt, key = next(iter(artifact_keys(args.formats).items()))
        found[f"ours ({fmt} in {args.ranged_parts} ranged GETs)"] = {"phases": True, "extra_env": {
            "MODEL_S3_URI": f"s3://{BUCKET}/{key}", "MODEL_SHA256": pins[fmt],
            "MODEL_DOWNLOAD_PARTS": str(args.ranged_parts)}}
    found["naive"] = {"handler": "naive_handler.lambda_handler", "mounts": [(str(HERE), "/opt/bench", True)],
                      "extra_env": {"PYTHONPATH": "/var/task:/opt/bench"}, "phases": False}
    return found


def artifact_keys(formats: list[str]) -> dict[str, str]:
    return {fmt: f"distilbert/v1.0.0/model.{fmt}" for fmt in formats}


def upload_formats(services: Services, artifact, formats: list[str], work: Path) -> dict[str, str]:
    """The artifact in each format beside the .tar.gz Services uploaded, packed and uploaded as the publish tool does
    (sha256 metadata, content type); returns each format's SHA-256."""
    pins = {"tar.gz": services.model_sha256}
    for fmt, key in artifact_keys(formats).items():
        if fmt != "tar.gz":
            packed = work / f"model.{fmt}"
            with open(packed, "wb") as out:
                write_archive(out, artifact.model_dir, fmt)
            pins[fmt] = sha256_file(packed)
            upload(services.moto.client("s3"), packed, parse_target(f"s3://{BUCKET}/{key}", MODEL_VERSION),
                   {"sha256": pins[fmt], "model-version": MODEL_VERSION}, content_type=CONTENT_TYPES[fmt])
    return pins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--quota-only", action="store_true", help="skip the unconstrained containers")
    which.add_argument("--no-cpu-quota", action="store_true", help="only unconstrained containers (no CPU quota)")
    parser.add_argument("--formats", default="tar.gz", type=lambda v: v.split(","),
                        help="artifact formats ours reads, comma-separated (tar.gz, tar, tar.zst)")
    parser.add_argument("--cpu-shares", type=int, help="the containers' CFS weight against the host's other work "
                        "(default: the kernel's 1024); on a busy shared host a larger one lets them reach their quota, "
                        "as Lambda guarantees it. The figures say which weight they ran with")
    parser.add_argument("--ranged-parts", type=int, default=1,
                        help="also run ours on the first format with this many ranged GETs in flight")
    parser.add_argument("--name", default="cold_start",
                        help="results/<name>.json and its own REPORT.md section (a partial run keeps the main one)")
    parser.add_argument("--only", default="", type=lambda v: [k for k in v.split(",") if k],
                        help="run only these kinds (e.g. 'ours (tar.gz),floor'); default all")
    args = parser.parse_args()
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", HERE.parent))
    say = lambda message: print(f"bench: {message}", file=sys.stderr)  # noqa: E731
    settings = {QUOTA: runc_lambda.LAMBDA_CPUS, UNCONSTRAINED: None}
    if args.quota_only:
        settings.pop(UNCONSTRAINED)
    if args.no_cpu_quota:
        settings.pop(QUOTA)

    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        work = Path(tmp)
        say("generating a full-size DistilBERT-architecture model (random weights)")
        artifact = build_artifact(work / "model", full_size=True)
        # The floor's model: what the function's extractor makes of the tarball (its modes: 0644 files, 0755
        # directories, readable by the image's non-root user), bind-mounted read-only into the container's /tmp.
        floor_model = work / "floor-model"
        floor_model.mkdir()
        with open(artifact.tarball, "rb") as tarball:
            extract_tar_stream(tarball, floor_model)
        results = {"tarball_mb": round(artifact.tarball.stat().st_size / 1e6), "repeats": args.repeats,
                   "load_1min_before": round(os.getloadavg()[0], 2), "cpus_of_host": os.cpu_count(),
                   "nice": os.nice(0), "cpu_shares": args.cpu_shares,
                   "command": " ".join(["tools/bazel run //bench:cold_start --",
                                        *[a for a in sys.argv[1:] if not a.startswith("--image")]])}
        with Services(Path(args.image), work / "stack", artifact.tarball, progress=say) as services:
            pins = upload_formats(services, artifact, args.formats, work)
            plan = {name: options for name, options in kinds(args, floor_model, pins).items()
                    if not args.only or name in args.only}
            runs: dict[str, dict[str, list]] = {s: {k: [] for k in plan} for s in settings}
            limits: dict[str, str] = {}
            for n in range(args.repeats):
                for setting, cpus in settings.items():
                    for name, options in plan.items():
                        options = dict(options)
                        phases = options.pop("phases")
                        label = f"{setting}-{name}-{n}".replace(" ", "").replace("(", "-").replace(")", "")
                        with ExecutionEnvironment(services, label, cpus=cpus, cpu_shares=args.cpu_shares,
                                                  progress=lambda m: None, **options) as env:
                            run = one_cold_start(env, services, n, phases)
                            limits[setting] = env.cpu_limit.split(", cgroup")[0]
                        runs[setting][name].append(run)
                        say(f"{setting} {name} {n + 1}/{args.repeats}: {run['start_to_first_result_ms']:.0f} ms "
                            f"(load {run['load_1min']})")
        results["load_1min_after"] = round(os.getloadavg()[0], 2)
        for setting in settings:
            results[setting] = {"cpu_limit": limits[setting], "kinds": {}}
            for name, kind_runs in runs[setting].items():
                figures = {k: round(statistics.median(r[k] for r in kind_runs), 1)
                           for k in kind_runs[0] if k.endswith("_ms")}
                figures["peak_memory_mb"] = max(r["peak_memory_mb"] for r in kind_runs)
                figures["runs"] = kind_runs
                results[setting]["kinds"][name] = figures

    section = cold_start_report.section(results, args.repeats)
    print(section)
    title = "Cold start in the container" if args.name == "cold_start" else f"Cold start in the container: {args.name}"
    report.write(workspace, args.name, title, section, results)


if __name__ == "__main__":
    main()
