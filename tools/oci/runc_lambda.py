"""Runs an OCI image layout the way Lambda runs a container image, with umoci and runc (no Docker engine).

    bundle = unpack(layout, workdir)                       # umoci unpack (verifies blob digests)
    configure(bundle, args=[...], mounts=[...], env={...})  # Lambda's limits, see below
    result = run(bundle, timeout=60)                        # runc run; stdout, stderr, exit code, peak memory

Lambda's execution environment, as far as a runtime bundle can express it: the image's non-root user, a
read-only root file system, a writable tmpfs at /tmp (512 MB by default), no network but loopback, a memory
limit (2048 MB here). What the host cannot do is adjusted and said: resource rlimits are dropped (the sandbox
lacks CAP_SYS_RESOURCE) and so is the cgroup namespace (cgroup v1 hosts).
"""

import dataclasses
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

MIB = 1024 * 1024


@dataclasses.dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    peak_memory_bytes: int | None
    seconds: float


def unpack(layout: Path, workdir: Path, ref: str = "latest") -> Path:
    """umoci unpack of LAYOUT:REF into WORKDIR/bundle; returns the bundle directory."""
    bundle = workdir / "bundle"
    result = subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:{ref}", str(bundle)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"umoci unpack {layout}:{ref} failed:\n{result.stderr}")
    return bundle


def configure(bundle: Path, args: list[str] | None = None, env: dict[str, str] | None = None,
              mounts: list[tuple[str, str, bool]] = (), memory_mb: int = 2048, tmp_mb: int = 512,
              network: bool = False, user: tuple[int, int] | None = None) -> dict:
    """Rewrites BUNDLE/config.json for Lambda-like limits.

    args replace the image's entrypoint+cmd; env is merged over the image's; mounts are (host, container, ro)
    bind mounts; network=True shares the host's network (the local runner's emulator on loopback), otherwise
    the container has its own namespace with loopback only; user overrides the image's uid:gid.
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

    spec["root"] = {"path": "rootfs", "readonly": True}
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
    linux = spec.setdefault("linux", {})
    namespaces = [ns for ns in linux.get("namespaces", []) if ns["type"] not in ("cgroup", "network", "user")]
    if not network:
        namespaces.append({"type": "network"})
    linux["namespaces"] = namespaces
    linux.pop("uidMappings", None)
    linux.pop("gidMappings", None)
    linux["resources"] = {"memory": {"limit": memory_mb * MIB}}
    linux["cgroupsPath"] = f"/runc-lambda-{uuid.uuid4().hex[:12]}"
    path.write_text(json.dumps(spec, indent=2))
    return spec


def peak_memory(bundle: Path) -> int | None:
    """Peak usage of the bundle's memory cgroup while its container exists (v1: max_usage_in_bytes; v2: memory.peak)."""
    cgroups_path = json.loads((bundle / "config.json").read_text())["linux"]["cgroupsPath"]
    for candidate in (f"/sys/fs/cgroup/memory{cgroups_path}/memory.max_usage_in_bytes",
                      f"/sys/fs/cgroup{cgroups_path}/memory.peak"):
        try:
            return int(Path(candidate).read_text())
        except (OSError, ValueError):
            continue
    return None


def start(bundle: Path, state_dir: Path, container_id: str | None = None, **popen) -> tuple[subprocess.Popen, str]:
    """Starts the container in the foreground of a child process; returns it and the container id."""
    container_id = container_id or f"lambda-{uuid.uuid4().hex[:12]}"
    proc = subprocess.Popen(
        ["runc", "--root", str(state_dir), "run", "--bundle", str(bundle), container_id], **popen
    )
    return proc, container_id


def stop(state_dir: Path, container_id: str) -> None:
    subprocess.run(["runc", "--root", str(state_dir), "kill", container_id, "KILL"], capture_output=True)
    subprocess.run(["runc", "--root", str(state_dir), "delete", "--force", container_id], capture_output=True)


def run(bundle: Path, timeout: float = 120, state_dir: Path | None = None) -> RunResult:
    """Runs the bundle to completion; kills it after TIMEOUT seconds."""
    state_dir = state_dir or bundle.parent / "runc-state"
    state_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc, container_id = start(bundle, state_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The cgroup disappears with the container: sample its peak usage while it runs.
    peak = None
    try:
        while proc.poll() is None:
            if time.monotonic() - started > timeout:
                stop(state_dir, container_id)
                break
            peak = peak_memory(bundle) or peak
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        stop(state_dir, container_id)
    return RunResult(proc.returncode, stdout, stderr, peak, time.monotonic() - started)


def host_can_run_containers() -> str | None:
    """None when runc and umoci are usable here, else the reason (for a clear test failure, never a skip)."""
    for tool in ("runc", "umoci"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            return f"{tool} is not installed (run the tests through tools/bazel, whose sysroot has it)"
    if os.geteuid() != 0:
        return "runc needs root here (rootless runc is not set up by this project)"
    return None
