"""archive.sh carries a root-owned sysroot (device nodes, foreign owners) and Bazel's caches through a CI cache as
one file each, and refuses an archive that is not what it claims to be. Runs as root, like the workflow's sudo."""

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

SYSROOT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def definition(tmp_path: Path) -> Path:
    """A copy of the scripts beside a small sysroot definition, so the definition hash is the test's own."""
    def_dir = tmp_path / "def"
    (def_dir / "stubs").mkdir(parents=True)
    for name in ("archive.sh", "lib.sh"):
        shutil.copy(SYSROOT_DIR / name, def_dir / name)
    for name in ("packages.txt", "debian-snapshot.txt", "bootstrap.sh", "bazelrc", "stubs/BUILD.bazel"):
        (def_dir / name).write_text(f"{name}\n")
    return def_dir


def archive(def_dir: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "TOOLS_BAZEL_SYSROOT_CACHE": str(cache)}
    return subprocess.run(["bash", str(def_dir / "archive.sh"), *args], env=env, capture_output=True, text=True)


def special(path: Path, minor: int) -> None:
    """A character device where mknod is allowed (real root, as in CI); in a user namespace, which may not make
    devices (tools/bazel's unprivileged route), a FIFO: the same kind of file a plain `tar` as the runner cannot
    recreate, and that the archive must keep as it is."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        os.mkfifo(path, 0o666)


def make_sysroot(def_dir: Path, cache: Path) -> Path:
    key = archive(def_dir, cache, "key").stdout.strip()
    root = cache / f"sysroot-{key}"
    (root / "usr/bin").mkdir(parents=True)
    (root / "dev").mkdir()
    (root / "tmp").mkdir(mode=0o1777)
    os.chmod(root / "tmp", 0o1777)
    (root / "usr/bin/tool").write_text("#!/bin/sh\n")
    os.chmod(root / "usr/bin/tool", 0o4755)
    os.chown(root / "usr/bin/tool", 0, 0)
    (root / "var/cache/apt").mkdir(parents=True)
    os.chown(root / "var/cache/apt", 42, 65534)  # _apt: a user the host does not have
    special(root / "usr/bin/null", 3)
    special(root / "dev/zero", 5)
    (root / "tmp/leftover").write_text("scratch")
    (root / "etc").mkdir()
    (root / "etc/bazel-host.bazelrc").write_text("build:remote-cache --remote_cache=https://secret@cache\n")
    (root / ".sysroot-complete").write_text(f"{key}\n")
    return root


def listing(root: Path) -> dict[str, tuple]:
    found = {}
    for path in sorted(root.rglob("*")):
        st = os.lstat(path)
        found[str(path.relative_to(root))] = (stat.filemode(st.st_mode), st.st_uid, st.st_gid, st.st_rdev)
    return found


def test_sysroot_round_trip_keeps_owners_modes_and_devices_and_drops_scratch_and_secrets(definition: Path, tmp_path: Path):
    source = make_sysroot(definition, tmp_path / "a")
    saved = archive(definition, tmp_path / "a", "save", str(tmp_path / "sysroot.archive"))
    assert saved.returncode == 0, saved.stderr
    restored = archive(definition, tmp_path / "b", "restore", str(tmp_path / "sysroot.archive"))
    assert restored.returncode == 0, restored.stderr
    target = tmp_path / "b" / source.name
    expected = {k: v for k, v in listing(source).items() if k not in ("tmp/leftover", "dev/zero", "etc/bazel-host.bazelrc")}
    assert listing(target) == expected
    assert listing(target)["usr/bin/null"][0][0] in "cp" and listing(target)["var/cache/apt"][1:3] == (42, 65534)


def test_restore_refuses_a_sysroot_of_another_definition(definition: Path, tmp_path: Path):
    make_sysroot(definition, tmp_path / "a")
    archive(definition, tmp_path / "a", "save", str(tmp_path / "sysroot.archive"))
    (definition / "packages.txt").write_text("changed\n")
    refused = archive(definition, tmp_path / "b", "restore", str(tmp_path / "sysroot.archive"))
    assert refused.returncode != 0 and "refusing to restore it" in refused.stderr
    assert not list((tmp_path / "b").glob("sysroot-*"))


def output_base(cache: Path, checkout: Path) -> Path:
    return cache / "bazel-output" / hashlib.md5(str(checkout.resolve()).encode()).hexdigest()


def test_bazel_caches_round_trip_into_the_output_base_named_after_the_checkout(definition: Path, tmp_path: Path):
    checkout = tmp_path / "work" / "repo"
    checkout.mkdir(parents=True)
    cache = tmp_path / "a"
    for relative in ("repository-cache/content_addressable/sha256/ab/file", "disk-cache/ac/12",
                     f"{output_base(cache, checkout).relative_to(cache)}/external/pip_torch/site-packages/torch.py",
                     f"{output_base(cache, checkout).relative_to(cache)}/execroot/not-saved"):
        (cache / relative).parent.mkdir(parents=True, exist_ok=True)
        (cache / relative).write_text(relative)
    saved = archive(definition, cache, "save-bazel-caches", str(tmp_path / "caches.archive"), str(checkout))
    assert saved.returncode == 0, saved.stderr
    other = tmp_path / "b"
    (other / "repository-cache").mkdir(parents=True)
    (other / "repository-cache/kept").write_text("already here")
    restored = archive(definition, other, "restore-bazel-caches", str(tmp_path / "caches.archive"), str(checkout))
    assert restored.returncode == 0, restored.stderr
    names = {str(p.relative_to(other)) for p in other.rglob("*") if p.is_file()}
    base = str(output_base(other, checkout).relative_to(other))
    assert names == {"repository-cache/kept", "repository-cache/content_addressable/sha256/ab/file", "disk-cache/ac/12",
                     f"{base}/external/pip_torch/site-packages/torch.py"}


def test_restore_refuses_bazel_caches_with_members_outside_them(definition: Path, tmp_path: Path):
    cache = tmp_path / "a"
    (cache / "repository-cache").mkdir(parents=True)
    (cache / "sysroot-evil/etc").mkdir(parents=True)
    (cache / "sysroot-evil/etc/passwd").write_text("evil")
    subprocess.run(["tar", "-C", str(cache), "-czf", str(tmp_path / "bad.archive"), "repository-cache", "sysroot-evil"],
                   check=True)
    refused = archive(definition, tmp_path / "b", "restore-bazel-caches", str(tmp_path / "bad.archive"), str(tmp_path))
    assert refused.returncode != 0 and "outside Bazel's caches" in refused.stderr
    assert not (tmp_path / "b" / "sysroot-evil").exists()
