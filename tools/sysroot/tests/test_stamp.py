"""The sysroot is rebuilt exactly when its definition changes, a failed build is never used, and a dead namespace
holder is told from a live one."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

SYSROOT_DIR = Path(__file__).resolve().parents[1]
LIB = SYSROOT_DIR / "lib.sh"

# A stand-in for bootstrap: records each call, then builds (or fails to build) a one-file "sysroot".
FAKE_BUILD = """
fake_build() {
  echo build >>"$BUILD_LOG"
  [ -z "${FAIL_BUILD:-}" ] || return 1
  mkdir -p "$1" && echo hello >"$1/marker"
}
"""


@pytest.fixture
def definition(tmp_path: Path) -> Path:
    def_dir = tmp_path / "def"
    (def_dir / "stubs" / "zlib").mkdir(parents=True)
    for name in ("packages.txt", "debian-snapshot.txt", "bootstrap.sh", "bazelrc", "lib.sh", "enter.sh", "README.md"):
        (def_dir / name).write_text(f"{name} v1\n")
    (def_dir / "stubs" / "zlib" / "MODULE.bazel").write_text('module(name = "zlib")\n')
    return def_dir


def ensure(def_dir: Path, cache: Path, log: Path, fail: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOOLS_BAZEL_SYSROOT_CACHE": str(cache), "BUILD_LOG": str(log)}
    if fail:
        env["FAIL_BUILD"] = "1"
    script = f'. "{LIB}"\n{FAKE_BUILD}\nensure_sysroot "{def_dir}" fake_build'
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)


def builds(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_unchanged_definition_reuses_the_sysroot(definition: Path, tmp_path: Path):
    cache, log = tmp_path / "cache", tmp_path / "log"
    first = ensure(definition, cache, log)
    second = ensure(definition, cache, log)
    assert first.returncode == 0, first.stderr
    assert second.stdout == first.stdout
    assert builds(log) == 1
    assert (Path(first.stdout.strip()) / "marker").read_text() == "hello\n"


@pytest.mark.parametrize("changed", ["packages.txt", "debian-snapshot.txt", "bootstrap.sh", "bazelrc", "stubs/zlib/MODULE.bazel"])
def test_changed_definition_rebuilds_and_drops_the_old_one(definition: Path, tmp_path: Path, changed: str):
    cache, log = tmp_path / "cache", tmp_path / "log"
    old = Path(ensure(definition, cache, log).stdout.strip())
    (definition / changed).write_text("changed\n")
    new = ensure(definition, cache, log)
    assert new.returncode == 0, new.stderr
    assert builds(log) == 2
    assert Path(new.stdout.strip()) != old
    assert not old.exists()


@pytest.mark.parametrize("changed", ["README.md", "enter.sh", "lib.sh"])
def test_files_that_do_not_define_the_contents_do_not_rebuild(definition: Path, tmp_path: Path, changed: str):
    cache, log = tmp_path / "cache", tmp_path / "log"
    ensure(definition, cache, log)
    (definition / changed).write_text("changed\n")
    assert ensure(definition, cache, log).returncode == 0
    assert builds(log) == 1


def test_a_failed_build_is_never_used(definition: Path, tmp_path: Path):
    cache, log = tmp_path / "cache", tmp_path / "log"
    failed = ensure(definition, cache, log, fail=True)
    assert failed.returncode != 0
    assert "building the sysroot failed" in failed.stderr
    assert not list(cache.glob("sysroot-*"))
    retried = ensure(definition, cache, log)
    assert retried.returncode == 0, retried.stderr
    assert builds(log) == 2


def test_an_interrupted_build_without_the_completion_marker_is_rebuilt(definition: Path, tmp_path: Path):
    cache, log = tmp_path / "cache", tmp_path / "log"
    ready = Path(ensure(definition, cache, log).stdout.strip())
    (ready / ".sysroot-complete").unlink()
    assert ensure(definition, cache, log).returncode == 0
    assert builds(log) == 2
    shutil.rmtree(cache)


def holder_alive(pid: int) -> bool:
    script = f'. "{LIB}"; holder_alive {pid}'
    return subprocess.run(["bash", "-c", script], capture_output=True).returncode == 0


def test_a_holder_in_its_own_mount_namespace_is_alive():
    holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sleep", "60"])
    try:
        for _ in range(100):  # until unshare has exec'd sleep in the new namespace
            if os.readlink(f"/proc/{holder.pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt"):
                break
            time.sleep(0.02)
        assert holder_alive(holder.pid)
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_not_yet_reaped_is_dead():
    """A zombie: kill -0 still succeeds, but its namespace is gone (the dead-holder failure after CI)."""
    holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sleep", "60"])
    time.sleep(0.2)
    holder.kill()
    for _ in range(100):
        if Path(f"/proc/{holder.pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            break
        time.sleep(0.02)
    assert subprocess.run(["kill", "-0", str(holder.pid)]).returncode == 0, "expected a zombie"
    assert not holder_alive(holder.pid)
    holder.wait()


def test_a_process_in_our_own_namespace_is_no_holder():
    other = subprocess.Popen(["sleep", "60"])
    try:
        assert not holder_alive(other.pid)
    finally:
        other.kill()
        other.wait()
