"""Remote execution, proven here: BuildGrid and two buildbox workers on loopback; `bazel test //...` against them.

    tools/bazel run //bench:remote_execution

Starts, each in its own process group, with all its state in one scratch directory under /tmp that is deleted at the
end:
- PostgreSQL (the sysroot's postgresql-18): BuildGrid 0.4.4's scheduler keeps its jobs there (it refuses SQLite);
- BuildGrid (//tools/remote:bgd, from tools/remote/requirements_lock.txt) on one loopback port: Execution, Bots, CAS,
  ByteStream and ActionCache; CAS on disk in the scratch directory, action cache in memory;
- two workers, each a buildbox-casd (the worker's local CAS, a proxy of BuildGrid's) and a buildbox-worker that runs
  one action at a time with buildbox-run-hosttools. This program runs inside the sysroot (`tools/bazel run`), so the
  workers and their actions do too: the same /usr/bin, Python 3.11, runc and image tools as Bazel's local actions.
Then three clean builds (`bazel test //...`, each in a fresh output base; repositories fetched first, timed apart):
1. local: no remote at all, the baseline;
2. remote: `--config=remote-exec` against the empty engine;
3. remote again, another fresh output base: every cacheable action should be a remote cache hit.
Reports the share of cacheable actions executed remotely, the jobs each worker ran (BuildGrid's jobs table), wall
times, cache hits, and the image digest of each build. Whatever happens (a failed build, Ctrl-C, SIGTERM), it stops
everything it started and deletes the scratch directories.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.bazel_processes import process_counts
from tools.loopback import LOOPBACK, free_port

WORKSPACE = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", Path(__file__).resolve().parents[1]))
PG_BIN = Path("/usr/lib/postgresql/18/bin")
WORKERS = 2
# "INFO: 812 processes: 390 remote cache hit, 420 internal, 2 processwrapper-sandbox."
# The image whose digest must not depend on where its actions ran.
IMAGE = "lambdas/analysis/image"
# A Bazel server of ours that outlives a killed run stops by itself after this.
MAX_IDLE_S = 600


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class Processes:
    """Started processes, each its own process group, stopped (TERM, then KILL) in reverse order."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], logfile: Path, **kwargs) -> subprocess.Popen:
        with logfile.open("wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, **kwargs)
        self.started.append((name, proc))
        return proc

    def check_alive(self, scratch: Path) -> None:
        for name, proc in self.started:
            if proc.poll() is not None:
                logs = "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-2000:]}" for p in scratch.glob("*.log"))
                raise SystemExit(f"bench: {name} exited ({proc.returncode}):\n{logs}")

    def stop_all(self) -> None:
        for name, proc in reversed(self.started):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    log(f"{name} ignored SIGTERM: killing it")
            # The whole group: children (postgres' backends, casd's runners) go too.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        self.started.clear()


def wait_for_port(port: int, procs: Processes, scratch: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.check_alive(scratch)
        with socket.socket() as sock:
            if sock.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"bench: nothing listens on {LOOPBACK}:{port} after {timeout} s")


def bgd_binary() -> list[str]:
    """//tools/remote:bgd from this binary's runfiles (this file is <runfiles>/_main/bench/remote_execution.py)."""
    roots = [os.environ.get("RUNFILES_DIR"), os.environ.get("PYTHON_RUNFILES"), str(Path(__file__).parents[2])]
    for root in filter(None, roots):
        candidate = Path(root) / "_main/tools/remote/bgd"
        if candidate.exists():
            return [str(candidate)]
    raise SystemExit(f"bench: //tools/remote:bgd is not in the runfiles ({roots})")


def bgd_config(port: int, pg_url: str, cas: Path) -> str:
    return f"""
server:
  - !channel
    address: "{LOOPBACK}:{port}"
    insecure-mode: true
authorization:
  method: none
# One gRPC thread per concurrent RPC (it is also gRPC's maximum_concurrent_rpcs): every running action holds an
# Execute stream, every idle worker a long-polling UpdateBotSession, and Bazel uploads a test's inputs (torch: 13,000
# files) one ByteStream call each. The default (5 per CPU) refuses them: "Concurrent RPC limit exceeded!", which
# Bazel reports as "N errors during bulk transfer". Bazel's side is capped too (REMOTE_FLAGS).
thread-pool-size: 1024
connections:
  - !sql-connection &sql
    connection-string: {pg_url}
    pool-size: 20
    max-overflow: 40
storages:
  - !disk-storage &cas
    path: {cas}
caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 1000000
    allow-updates: true
    cache-failed-actions: false
schedulers:
  - !sql-scheduler &scheduler
    sql: *sql
    storage: *cas
    action-cache: *ac
    property-set: !dynamic-property-set
      match-property-keys: []
      wildcard-property-keys: []
instances:
  - name: ""
    services:
      - !action-cache
        cache: *ac
      - !execution
        scheduler: *scheduler
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
"""


class Engine:
    """PostgreSQL + BuildGrid + WORKERS buildbox workers, all on loopback, all state under SCRATCH."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.procs = Processes()
        self.port = 0
        self.pg_port = 0

    def psql(self, query: str) -> list[list[str]]:
        out = subprocess.run([str(PG_BIN / "psql"), "-h", LOOPBACK, "-p", str(self.pg_port), "-U", "bgd", "-d", "bgd",
                              "-AtF", "\t", "-c", query], check=True, capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def start(self) -> str:
        scratch = self.scratch
        # PostgreSQL refuses to run as root: its own user, its own directory.
        pg = scratch / "pg"
        pg.mkdir()
        shutil.chown(pg, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*as_postgres, str(PG_BIN / "initdb"), "-D", str(pg / "data"), "-U", "bgd", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        self.pg_port = free_port()
        self.procs.start("postgres", [*as_postgres, str(PG_BIN / "postgres"), "-D", str(pg / "data"),
                                      "-c", f"listen_addresses={LOOPBACK}", "-p", str(self.pg_port),
                                      "-k", str(pg), "-c", "fsync=off", "-c", "synchronous_commit=off",
                                      "-c", "max_connections=200"], scratch / "postgres.log")
        wait_for_port(self.pg_port, self.procs, scratch)
        for _ in range(50):  # the port opens a moment before connections are accepted
            if subprocess.run([str(PG_BIN / "pg_isready"), "-h", LOOPBACK, "-p", str(self.pg_port)],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        subprocess.run([*as_postgres, str(PG_BIN / "createdb"), "-h", LOOPBACK, "-p", str(self.pg_port), "-U", "bgd",
                        "bgd"], check=True, capture_output=True)
        pg_url = f"postgresql+psycopg2://bgd@{LOOPBACK}:{self.pg_port}/bgd"
        bgd = bgd_binary()
        subprocess.run([*bgd, "migrate", "apply", pg_url], check=True, capture_output=True)

        self.port = free_port()
        config = scratch / "buildgrid.yml"
        config.write_text(bgd_config(self.port, pg_url, scratch / "cas"))
        self.procs.start("buildgrid", [*bgd, "server", "start", str(config)], scratch / "buildgrid.log")
        wait_for_port(self.port, self.procs, scratch)
        url = f"grpc://{LOOPBACK}:{self.port}"

        for n in range(1, WORKERS + 1):
            home = scratch / f"worker-{n}"
            home.mkdir()
            sock = f"unix:{home}/casd.sock"
            self.procs.start(f"buildbox-casd {n}", [
                "buildbox-casd", f"--cas-remote={url}", f"--bind={sock}", "--log-level=warning",
                "--quota-high=8G", "--protect-session-blobs", str(home / "cache")], scratch / f"casd-{n}.log")
            for _ in range(100):
                if (home / "casd.sock").exists():
                    break
                time.sleep(0.1)
            self.procs.start(f"buildbox-worker {n}", [
                "buildbox-worker", f"--bots-remote={url}", f"--cas-remote={sock}",
                "--buildbox-run=/usr/bin/buildbox-run-hosttools", "--concurrent-jobs=1", "--max-wait-time=5",
                "--log-level=warning", f"worker-{n}"], scratch / f"worker-{n}.log")
        # Both workers registered (BuildGrid's bots table) before any build starts.
        deadline = time.monotonic() + 60
        while len(self.psql("SELECT DISTINCT bot_id FROM bots")) < WORKERS:
            self.procs.check_alive(scratch)
            if time.monotonic() > deadline:
                raise SystemExit("bench: the workers did not register with BuildGrid in 60 s")
            time.sleep(0.5)
        return url

    def jobs_per_worker(self) -> dict[str, int]:
        """Completed jobs (REAPI stage COMPLETED = 4) per worker, from BuildGrid's scheduler tables."""
        rows = self.psql("SELECT worker_name, count(*) FROM jobs WHERE stage = 4 GROUP BY worker_name ORDER BY 1")
        return {name or "(none)": int(count) for name, count in rows}


class Build:
    """`bazel test //...` in a fresh output base of its own, deleted afterwards."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.output_base = root / name
        user_root = os.environ["TOOLS_BAZEL_OUTPUT_USER_ROOT"]
        self.startup = ["bazel", f"--output_user_root={user_root}", f"--output_base={self.output_base}",
                        f"--max_idle_secs={MAX_IDLE_S}"]

    def bazel(self, *args: str, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
        started = time.monotonic()
        result = subprocess.run([*self.startup, *args], cwd=WORKSPACE, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        if check and result.returncode != 0:
            raise SystemExit(f"bench: {self.name}: bazel {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stderr[-6000:]}")
        return elapsed, result

    def run(self, flags: list[str]) -> dict:
        log(f"{self.name}: bazel fetch //...")
        fetch_s, _ = self.bazel("fetch", "//...")
        log(f"{self.name}: bazel test //... {' '.join(flags)}")
        test_s, result = self.bazel("test", "//...", "--keep_going", "--color=no", "--curses=no",
                                    "--show_progress_rate_limit=60", *flags, check=False)
        # 3: built, but some tests failed: recorded (and the run fails at the end); anything else is fatal.
        if result.returncode not in (0, 3):
            raise SystemExit(f"bench: {self.name}: bazel test //... failed ({result.returncode}):\n"
                             f"{result.stderr[-6000:]}")
        # The test summary ("//x:y  FAILED in 2.8s", "Executed ...") is on stdout, the process line on stderr.
        output = result.stdout + "\n" + result.stderr
        failed = sorted(set(re.findall(r"^(//\S+)\s+(?:\(cached\) )?FAILED", output, re.MULTILINE)))
        _, info = self.bazel("info", "bazel-bin")
        index = json.loads((Path(info.stdout.strip()) / IMAGE / "index.json").read_text())
        return {"fetch_s": round(fetch_s, 1), "test_s": round(test_s, 1), "processes": processes(result.stderr),
                "tests": tests_passed(output), "failed_tests": failed,
                "image_digest": index["manifests"][0]["digest"]}

    def remove(self) -> None:
        if self.output_base.exists():
            # clean --expunge also stops this output base's server and deletes the read-only trees Bazel leaves.
            subprocess.run([*self.startup, "clean", "--expunge"], cwd=WORKSPACE, capture_output=True)
            shutil.rmtree(self.output_base, ignore_errors=True)


def processes(log_text: str) -> dict:
    """Bazel's closing "N processes: ..." line, split by strategy; cacheable = all but the internal ones."""
    found = process_counts(log_text)
    if found is None:
        return {"total": 0}
    total, counts, detail = found
    cacheable = total - counts.get("internal", 0)
    remote = counts.get("remote", 0)
    hits = counts.get("remote cache hit", 0)
    return {"total": total, "cacheable": cacheable, "remote": remote, "remote_cache_hit": hits,
            "local": cacheable - remote - hits, "detail": detail,
            "remote_percent": round(100 * remote / cacheable, 1) if cacheable else None,
            "hit_percent": round(100 * hits / cacheable, 1) if cacheable else None}


def tests_passed(log_text: str) -> str:
    match = re.findall(r"Executed (\d+) out of (\d+) tests?: (\d+) tests? pass", log_text)
    found = re.findall(r"(\d+) tests? pass", log_text)
    if match:
        return f"{match[-1][2]} passed of {match[-1][1]}"
    return f"{found[-1]} passed" if found else "?"


def on_signal(signum, _frame) -> None:
    raise SystemExit(f"bench: stopped by signal {signum}")


def main() -> None:
    if "TOOLS_BAZEL_OUTPUT_USER_ROOT" not in os.environ:
        sys.exit("bench: run me through tools/bazel (TOOLS_BAZEL_OUTPUT_USER_ROOT is not set)")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    started = time.monotonic()
    # Engine state where the postgres user can reach it (/tmp); output bases beside Bazel's own.
    scratch = Path(tempfile.mkdtemp(prefix="bench-remote-exec-"))
    scratch.chmod(0o755)
    bases = Path(tempfile.mkdtemp(prefix="bench-remote-exec-", dir=os.environ["TOOLS_BAZEL_OUTPUT_USER_ROOT"]))
    engine = Engine(scratch)
    builds: list[Build] = []
    try:
        log(f"disk free before: {shutil.disk_usage(bases).free / 2**30:.1f} GiB")
        # The engine first (a broken one fails in seconds, not after the local build); idle while that runs.
        url = engine.start()
        log(f"BuildGrid at {url}, {WORKERS} workers registered")
        local = Build("local", bases)
        builds.append(local)
        results = {"local": local.run([])}
        local.remove()

        # At most 4 connections x 100 concurrent calls from Bazel, within BuildGrid's 1024 threads (bgd_config).
        remote_flags = ["--config=remote-exec", f"--remote_executor={url}", "--remote_max_connections=4"]
        cold = Build("remote", bases)
        builds.append(cold)
        results["remote"] = cold.run(remote_flags)
        results["remote"]["jobs_per_worker"] = engine.jobs_per_worker()
        peak = {"engine_gib": round(du(scratch) / 2**30, 2), "remote_output_base_gib": round(du(cold.output_base) / 2**30, 2)}
        cold.remove()

        warm = Build("remote-again", bases)
        builds.append(warm)
        results["remote_again"] = warm.run(remote_flags)
        after = engine.jobs_per_worker()
        results["remote_again"]["jobs_per_worker"] = {
            w: n - results["remote"]["jobs_per_worker"].get(w, 0) for w, n in after.items()}
        results["disk"] = peak
    finally:
        engine.procs.stop_all()
        for build in builds:
            build.remove()
        shutil.rmtree(bases, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    results["bench_s"] = round(time.monotonic() - started, 1)
    write_report(results)


def du(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def write_report(results: dict) -> None:
    local, cold, warm = results["local"], results["remote"], results["remote_again"]
    same = local["image_digest"] == cold["image_digest"] == warm["image_digest"]
    per_worker = ", ".join(f"{w}: {n}" for w, n in cold["jobs_per_worker"].items())
    warm_jobs = sum(warm["jobs_per_worker"].values())
    p_cold, p_warm, p_local = cold["processes"], warm["processes"], local["processes"]
    section = "\n".join([
        "Command: `tools/bazel run //bench:remote_execution`: BuildGrid 0.4.4 (PostgreSQL scheduler, disk CAS) and two",
        "buildbox 1.4.16 workers (buildbox-casd + buildbox-worker + buildbox-run-hosttools, one action at a time each,",
        "inside the sysroot) on loopback; `bazel test //...` from a fresh output base, locally and then twice with",
        "`--config=remote-exec`. Same 2-core machine for Bazel, engine and workers: the wall times show the mechanics",
        "and the engine's overhead, not what more machines would gain.", "",
        "| | local | remote execution, empty engine | remote again, clean output base | goal |",
        "| --- | --- | --- | --- | --- |",
        f"| `bazel fetch //...` (repositories, never remote) | {local['fetch_s']} s | {cold['fetch_s']} s | "
        f"{warm['fetch_s']} s | |",
        f"| `bazel test //...` wall time | {local['test_s']} s | **{cold['test_s']} s** | {warm['test_s']} s | |",
        f"| tests | {local['tests']} | {cold['tests']} | {warm['tests']} | all pass |",
        *([f"| failed tests | {', '.join(local['failed_tests']) or '–'} | {', '.join(cold['failed_tests']) or '–'} | "
           f"{', '.join(warm['failed_tests']) or '–'} | none |"]
          if local["failed_tests"] or cold["failed_tests"] or warm["failed_tests"] else []),
        f"| cacheable actions (all but Bazel's internal ones) | {p_local.get('cacheable')} | {p_cold.get('cacheable')} "
        f"| {p_warm.get('cacheable')} | |",
        f"| executed remotely | – | **{p_cold.get('remote')} ({p_cold.get('remote_percent')} %)** | "
        f"{p_warm.get('remote')} | ≥ 90 % |",
        f"| remote cache hits | – | {p_cold.get('remote_cache_hit')} | **{p_warm.get('remote_cache_hit')} "
        f"({p_warm.get('hit_percent')} %)** | |",
        f"| executed locally (`no-remote-exec`) | {p_local.get('local')} | {p_cold.get('local')} | "
        f"{p_warm.get('local')} | |",
        f"| jobs per worker (BuildGrid) | – | {per_worker} | {warm_jobs} new jobs | both used |",
        f"| image digest | `{local['image_digest']}` | {'same' if local['image_digest'] == cold['image_digest'] else '**differs**'}"
        f" | {'same' if local['image_digest'] == warm['image_digest'] else '**differs**'} | same |",
        "",
        f"Process summaries: local: {p_local.get('detail')}; remote: {p_cold.get('detail')}; "
        f"remote again: {p_warm.get('detail')}.",
        f"Peak scratch: engine (BuildGrid CAS + both casd caches + PostgreSQL) {results['disk']['engine_gib']} GiB, "
        f"remote output base {results['disk']['remote_output_base_gib']} GiB; all deleted. Whole run "
        f"{results['bench_s']} s.",
    ])
    print(section)
    report.write(WORKSPACE, "remote_execution", "Remote execution (BuildGrid + buildbox)", section, results)
    failed = {name: results[key]["failed_tests"] for name, key in (("local", "local"), ("remote", "remote"),
                                                                    ("remote again", "remote_again"))}
    if any(failed.values()):
        sys.exit(f"bench: tests failed: {failed}")
    if not same:
        sys.exit("bench: the image digest differs between local and remote builds")
    if (p_cold.get("remote_percent") or 0) < 90:
        sys.exit("bench: fewer than 90 % of cacheable actions ran remotely")


if __name__ == "__main__":
    main()
