"""Runs an OCI image layout the way Lambda runs a container image, with umoci and runc (no Docker engine).

    bundle = unpack(layout, workdir)                       # umoci unpack (verifies blob digests)
    configure(bundle, args=[...], mounts=[...], env={...})  # Lambda's limits, see below
    result = run(bundle, timeout=60)                        # runc run; stdout, stderr, exit code, peak memory

Lambda's execution environment, as far as a runtime bundle can express it: the image's non-root user, a
read-only root file system, a writable tmpfs at /tmp (512 MB by default), no network but loopback, a memory
limit (2048 MB here) and the CPU that memory buys on Lambda: 1,769 MB is one vCPU, so 2048 MB gets a CFS quota of
1.158 CPUs (cpus=None lifts it: the whole machine). Both limits are recorded as config.json annotations. What the
host cannot do is adjusted and said: resource rlimits are dropped (the sandbox lacks CAP_SYS_RESOURCE) and so is the
cgroup namespace (cgroup v1 hosts).

Inside a user namespace (tools/bazel run by an unprivileged user) runc cannot create cgroups in a hierarchy owned by
the host's root, and it tolerates that only when the bundle asks for no resources. There the bundle requests none
(no memory limit, no CPU quota, no device cgroup rules), and its config.json says so in the MEMORY_LIMIT and
CPU_LIMIT annotations; the peak memory figure then comes from the container's processes (VmRSS/VmHWM in /proc)
instead of the cgroup, and RunResult.peak_memory_source says which. sysfs can only be mounted in a network namespace
owned by the user namespace, so a container that shares the host's network gets a read-only bind of /sys there
instead.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

from tools.procfs import status_kb

MIB = 1024 * 1024
# Not toolchain-resolved: this library runs inside many tests and binaries (image smoke test, e2e test, the local
# runner, the cold-start bench), each of which would need the toolchain variables wired in. It takes the programs
# from $OCI_UMOCI / $OCI_RUNC when set (e.g. env = {"OCI_RUNC": "$(RUNC)"} with the toolchain variables target,
# //tools/oci/toolchains:variables), else from PATH: the sysroot's, which the default toolchains name too.
UMOCI = os.environ.get("OCI_UMOCI", "umoci")
RUNC = os.environ.get("OCI_RUNC", "runc")
CGROUP_ROOT = Path("/sys/fs/cgroup")
# config.json annotation: "enforced: ..." or "not enforced: <why>".
MEMORY_LIMIT = "org.analysis-lambda.memory-limit"
# config.json annotation: "enforced: N vCPU ...", "lifted: ..." (cpus=None) or "not enforced: <why>".
CPU_LIMIT = "org.analysis-lambda.cpu-limit"
# Lambda allocates CPU in proportion to memory; at 1,769 MB a function has the equivalent of one vCPU.
LAMBDA_MB_PER_VCPU = 1769
# The CFS period runc is given; the quota is cpus x this. 100 ms is the kernel's default period.
CPU_PERIOD_US = 100_000
# configure()'s default for cpus: derive the quota from memory_mb as Lambda does.
LAMBDA_CPUS = "lambda"
# The largest CFS weight cgroup v1 accepts (cpu.shares; runc maps it onto cgroup v2's cpu.weight).
MAX_CPU_SHARES = 262144
# Where a peak memory figure came from.
FROM_CGROUP, FROM_PROCESSES = "cgroup", "process RSS"


@dataclasses.dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    peak_memory_bytes: int | None
    seconds: float
    peak_memory_source: str | None = None  # FROM_CGROUP or FROM_PROCESSES


def unpack(layout: Path, workdir: Path, ref: str = "latest") -> Path:
    """umoci unpack of LAYOUT:REF into WORKDIR/bundle; returns the bundle directory."""
    bundle = workdir / "bundle"
    result = subprocess.run(
        [UMOCI, "unpack", "--image", f"{layout}:{ref}", str(bundle)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"umoci unpack {layout}:{ref} failed:\n{result.stderr}")
    return bundle


def configure(bundle: Path, args: list[str] | None = None, env: dict[str, str] | None = None,
              mounts: list[tuple[str, str, bool]] = (), memory_mb: int = 2048, tmp_mb: int = 512,
              network: bool = False, user: tuple[int, int] | None = None, rootfs: Path | None = None,
              cpus: float | str | None = LAMBDA_CPUS, cpu_shares: int | None = None) -> dict:
    """Rewrites BUNDLE/config.json for Lambda-like limits.

    args replace the image's entrypoint+cmd; env is merged over the image's; mounts are (host, container, ro)
    bind mounts; network=True shares the host's network (the local runner's emulator on loopback), otherwise
    the container has its own namespace with loopback only; user overrides the image's uid:gid; rootfs names a root
    file system outside the bundle (absolute: runc refuses a symlink), e.g. one that several bundles share read-only.
    cpus is the CFS quota in CPUs: LAMBDA_CPUS (default) is memory_mb / 1769 as on Lambda, a number sets it, None
    lifts it (the container may use every CPU of the host). cpu_shares sets the cgroup's CFS weight against the
    host's other work (default: the kernel's 1024, one ordinary process's worth): the quota caps the container, the
    weight decides whether a busy host lets it reach the quota. Lambda guarantees its share; a benchmark on a shared
    host may ask for a larger weight to get closer to that, and says so (the annotation records it).
    The limits are a cgroup where memory_cgroup_parent() finds one can be made, else no resources at all (see the
    module docstring); the MEMORY_LIMIT and CPU_LIMIT annotations in config.json record which (memory_limit() and
    cpu_limit() read them).
    """
    path = bundle / "config.json"
    spec = json.loads(path.read_text())
    process = spec["process"]
    if args is not None:
        process["args"] = args
    if env:
        merged = dict(item.split("=", 1) for item in process.get("env", []))
        merged.update(env)
        process["env"] = [f"{k}={v}" for k, v in merged.items()]
    if user is not None:
        process["user"] = {"uid": user[0], "gid": user[1]}
    process.pop("rlimits", None)
    process["terminal"] = False
    process["noNewPrivileges"] = True

    spec["root"] = {"path": str(rootfs) if rootfs is not None else "rootfs", "readonly": True}
    spec["mounts"] = [m for m in spec.get("mounts", []) if m["destination"] != "/tmp"]
    spec["mounts"].append({
        "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "mode=1777", f"size={tmp_mb}m"],
    })
    for host, container, read_only in mounts:
        spec["mounts"].append({
            "destination": container, "type": "bind", "source": str(host),
            "options": ["rbind", "ro" if read_only else "rw"],
        })
    if network and in_user_namespace():
        # sysfs needs a network namespace owned by the mounting user namespace; the host's is not. "rro": read-only
        # all the way down (the host's /sys has writable mounts below it, cgroup hierarchies among them).
        sys_bind = {"destination": "/sys", "type": "bind", "source": "/sys",
                    "options": ["rbind", "nosuid", "noexec", "nodev", "rro"]}
        spec["mounts"] = [sys_bind if (m["destination"], m["type"]) == ("/sys", "sysfs") else m
                          for m in spec["mounts"]]
    linux = spec.setdefault("linux", {})
    namespaces = [ns for ns in linux.get("namespaces", []) if ns["type"] not in ("cgroup", "network", "user")]
    if not network:
        namespaces.append({"type": "network"})
    linux["namespaces"] = namespaces
    linux.pop("uidMappings", None)
    linux.pop("gidMappings", None)
    parent, why_not = memory_cgroup_parent()
    if cpus == LAMBDA_CPUS:
        cpus = lambda_cpus(memory_mb)
    if parent is not None:
        linux["resources"] = {"memory": {"limit": memory_mb * MIB}}
        linux["cgroupsPath"] = f"{parent.rstrip('/')}/runc-lambda-{uuid.uuid4().hex[:12]}"
        limit = f"enforced: {memory_mb} MB, cgroup {linux['cgroupsPath']}"
        if cpus is None:
            cpu = f"lifted: no CPU quota (all {os.cpu_count()} CPUs of the host)"
        else:
            quota = cpu_quota_us(cpus)
            linux["resources"]["cpu"] = {"quota": quota, "period": CPU_PERIOD_US}
            cpu = f"enforced: {cpus:.3f} vCPU (CFS quota {quota} us per {CPU_PERIOD_US} us)"
        if cpu_shares is not None:
            linux["resources"].setdefault("cpu", {})["shares"] = cpu_shares
            cpu += f", CFS weight {cpu_shares} shares"
        cpu += f", cgroup {linux['cgroupsPath']}"
    else:
        # runc (rootless) ignores cgroup errors only when no resources are requested: none, and said so.
        linux.pop("resources", None)
        linux.pop("cgroupsPath", None)
        limit = f"not enforced: {why_not}"
        cpu = (f"not enforced: {why_not}" if cpus is not None
               else f"lifted: no CPU quota (all {os.cpu_count()} CPUs of the host)")
    annotations = spec.setdefault("annotations", {})
    annotations[MEMORY_LIMIT] = limit
    annotations[CPU_LIMIT] = cpu
    path.write_text(json.dumps(spec, indent=2))
    return spec


def lambda_cpus(memory_mb: int) -> float:
    """The vCPUs Lambda gives a function of MEMORY_MB (2048 MB -> 1.158)."""
    return memory_mb / LAMBDA_MB_PER_VCPU


def add_cpu_quota_flag(parser) -> None:
    """--no-cpu-quota on a command that starts containers: args.cpus is then configure()'s cpus (LAMBDA_CPUS, or
    None when lifted)."""
    parser.add_argument("--no-cpu-quota", dest="cpus", action="store_const", const=None, default=LAMBDA_CPUS,
                        help="lift Lambda's CPU quota (memory / 1769 vCPUs): the container may use every CPU")


def cpu_quota_us(cpus: float) -> int:
    """The CFS quota per CPU_PERIOD_US for CPUS (at least the kernel's minimum of 1 ms)."""
    if cpus <= 0:
        raise ValueError(f"cpus must be positive (None lifts the quota), not {cpus}")
    return max(1000, round(cpus * CPU_PERIOD_US))


def in_user_namespace() -> bool:
    """True unless this process sees the initial user namespace's full identity mapping (runc's own test)."""
    try:
        lines = Path("/proc/self/uid_map").read_text().split("\n")
    except OSError:
        return False
    return [line.split() for line in lines if line.strip()] != [["0", "0", "4294967295"]]


def memory_cgroup_parent() -> tuple[str | None, str]:
    """(parent, "") where runc may create the container's memory cgroup, or (None, why it cannot here).

    The same cgroup carries the CPU quota, so the cpu controller must be there too. cgroup v1: the memory and cpu
    hierarchies' roots must be writable (root on the host; not root of a user namespace, whose root does not own
    them). cgroup v2: the hierarchy's root or, failing that, the delegated cgroup above this process (a user's
    systemd slice) must be writable and offer the memory and cpu controllers.
    """
    if not (CGROUP_ROOT / "cgroup.controllers").exists():  # v1 (or hybrid: runc uses v1 there too)
        for controller in ("memory", "cpu"):
            hierarchy = CGROUP_ROOT / controller
            if not hierarchy.is_dir():
                return None, f"no cgroup v1 {controller} hierarchy at {hierarchy}"
            if not os.access(hierarchy, os.W_OK):
                return None, (f"{hierarchy} (cgroup v1) is not writable here"
                              + (" (a user namespace: the host's root owns it)" if in_user_namespace() else ""))
        return "", ""
    candidates = [""]
    try:
        own = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines() if line.startswith("0::"))
        if own not in ("", "/"):
            candidates.append(str(Path(own).parent))
    except (OSError, StopIteration):
        pass
    for parent in candidates:
        directory = CGROUP_ROOT / parent.lstrip("/")
        try:
            controllers = (directory / "cgroup.controllers").read_text().split()
        except OSError:
            continue
        if {"memory", "cpu"} <= set(controllers) and os.access(directory, os.W_OK) \
                and os.access(directory / "cgroup.subtree_control", os.W_OK):
            return parent, ""
    return None, ("neither the cgroup v2 root nor this process's parent cgroup is writable with the memory and "
                  "cpu controllers (no delegation here)")


def memory_limit(bundle: Path) -> str:
    """What configure() recorded about the memory limit ("enforced: ..." or "not enforced: <why>")."""
    spec = json.loads((bundle / "config.json").read_text())
    return spec.get("annotations", {}).get(MEMORY_LIMIT, "not configured")


def cpu_limit(bundle: Path) -> str:
    """What configure() recorded about the CPU quota ("enforced: ...", "lifted: ..." or "not enforced: <why>")."""
    spec = json.loads((bundle / "config.json").read_text())
    return spec.get("annotations", {}).get(CPU_LIMIT, "not configured")


def _stat_fields(pid: int | str) -> list[str]:
    """/proc/PID/stat after the command name: [state, ppid, ...] (field 3 onwards), or [] if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat[stat.rindex(")") + 2:].split()


def _start_time(pid: int) -> int | None:
    """When PID started (clock ticks after boot, stat field 22), which tells a process from a later one with its pid."""
    fields = _stat_fields(pid)
    return int(fields[19]) if len(fields) > 19 else None


def _descendants(root: int) -> list[int]:
    """ROOT and every process below it (by parent pid, from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if len(fields) < 2:
            continue
        ppid = int(fields[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class PeakMemory:
    """The peak memory of one running container, sampled until stop().

    With a memory cgroup (configure() recorded the limit as enforced), the kernel's own peak: memory.peak (v2) or
    memory.max_usage_in_bytes (v1); the cgroup disappears with the container, so it is read while it runs. Without
    one, the container's processes (the init process in STATE/ID/state.json and its descendants): the largest sum of
    their VmRSS seen in a sample, or the init process's VmHWM (its own high-water mark, which catches peaks between
    samples) if that is larger. A background thread samples every INTERVAL seconds; sample() adds one now.
    """

    def __init__(self, bundle: Path, state_dir: Path, container_id: str, interval: float = 0.1):
        self.state_file = Path(state_dir) / container_id / "state.json"
        cgroups_path = json.loads((bundle / "config.json").read_text()).get("linux", {}).get("cgroupsPath")
        self.cgroup_files = [CGROUP_ROOT / f"memory{cgroups_path}/memory.max_usage_in_bytes",
                             CGROUP_ROOT / f"{cgroups_path.lstrip('/')}/memory.peak"] if cgroups_path else []
        self.source = FROM_CGROUP if cgroups_path else FROM_PROCESSES
        self.peak_bytes: int | None = None
        self.interval = interval
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"peak-memory-{container_id}", daemon=True)

    def start(self) -> "PeakMemory":
        self._thread.start()
        return self

    def stop(self) -> int | None:
        """Stops sampling (call before the container is deleted to get its last figures); returns the peak."""
        self.sample()
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.peak_bytes

    def _loop(self) -> None:
        while not self._stopped.wait(self.interval):
            self.sample()

    def sample(self) -> int | None:
        """Takes one reading now; returns the peak so far (None until a reading succeeded)."""
        reading = self._read_cgroup() if self.cgroup_files else self._read_processes()
        with self._lock:
            if reading is not None and (self.peak_bytes is None or reading > self.peak_bytes):
                self.peak_bytes = reading
            return self.peak_bytes

    def _read_cgroup(self) -> int | None:
        for candidate in self.cgroup_files:
            try:
                return int(candidate.read_text())
            except (OSError, ValueError):
                continue
        return None

    def _read_processes(self) -> int | None:
        try:
            state = json.loads(self.state_file.read_text())
            init_pid, init_start = int(state["init_process_pid"]), int(state["init_process_start"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # not created yet, or already deleted
        if _start_time(init_pid) != init_start:
            return None  # exited (its pid may already be someone else's)
        init = status_kb(init_pid, "VmRSS", "VmHWM")
        rss_kb = sum(status_kb(pid, "VmRSS").get("VmRSS", 0) for pid in _descendants(init_pid))
        if not init:
            return None
        return max(rss_kb, init.get("VmHWM", 0)) * 1024


def start(bundle: Path, state_dir: Path, container_id: str | None = None, **popen) -> tuple[subprocess.Popen, str]:
    """Starts the container in the foreground of a child process; returns it and the container id."""
    container_id = container_id or f"lambda-{uuid.uuid4().hex[:12]}"
    proc = subprocess.Popen(
        [RUNC, "--root", str(state_dir), "run", "--bundle", str(bundle), container_id], **popen
    )
    return proc, container_id


def kill(state_dir: Path, container_id: str, signal: str = "KILL") -> None:
    """Sends SIGNAL to the container's init process (nothing if it is gone already)."""
    subprocess.run([RUNC, "--root", str(state_dir), "kill", container_id, signal], capture_output=True)


def stop(state_dir: Path, container_id: str) -> None:
    kill(state_dir, container_id)
    subprocess.run([RUNC, "--root", str(state_dir), "delete", "--force", container_id], capture_output=True)


def run(bundle: Path, timeout: float = 120, state_dir: Path | None = None) -> RunResult:
    """Runs the bundle to completion; kills it after TIMEOUT seconds."""
    state_dir = state_dir or bundle.parent / "runc-state"
    state_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc, container_id = start(bundle, state_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(bundle, state_dir, container_id).start()
    try:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            memory.stop()
            stop(state_dir, container_id)
            stdout, stderr = proc.communicate(timeout=30)
    finally:
        memory.stop()
        stop(state_dir, container_id)
    return RunResult(proc.returncode, stdout, stderr, memory.peak_bytes, time.monotonic() - started, memory.source)


def host_can_run_containers() -> str | None:
    """None when runc and umoci are usable here, else the reason (for a clear test failure, never a skip)."""
    for tool in (RUNC, UMOCI):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (run the tests through tools/bazel, whose sysroot has it)"
    if os.geteuid() != 0:
        return ("runc needs root here: run the tests through tools/bazel (root itself, or root of a user namespace "
                "for an unprivileged user)")
    return None
