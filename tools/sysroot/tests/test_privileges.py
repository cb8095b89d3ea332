"""How tools/bazel gets root: the probe asks for what the sysroot really needs (a mount in a user namespace), sudo
keeps exactly the build's environment, and files written under sudo go back to the caller. Fake commands stand in
for id, unshare, mount and sudo so each host kind can be played."""

import os
import subprocess
from pathlib import Path

import pytest

PRIVILEGES_LIB = Path(__file__).resolve().parents[1] / "privileges.sh"
LIB = Path(__file__).resolve().parents[1] / "lib.sh"


def fake_bin(tmp_path: Path, commands: dict[str, str]) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, body in commands.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return bin_dir


def host(tmp_path: Path, *, uid: int, userns: str, sudo: bool, newuidmap: bool = True, subids: bool = True) -> Path:
    """A fake host. userns: 'none' (unshare fails), 'no-mount' (unshare works, mount is denied: AppArmor on
    ubuntu-24.04 runners), 'full'."""
    commands = {
        "id": f'case "$1" in -u) echo {uid} ;; -g) echo {uid} ;; -un) echo builder ;; esac',
        # unshare runs the command after its options, like the real one.
        "unshare": (
            'while [ $# -gt 0 ]; do case "$1" in --propagation) shift 2 ;; -*) shift ;; *) break ;; esac; done; exec "$@"'
            if userns != "none" else "exit 1"
        ),
        "mount": "exit 0" if userns == "full" else "echo 'mount: permission denied' >&2; exit 32",
        "umount": "exit 0",
        "sudo": "exit 0" if sudo else "echo 'sudo: a password is required' >&2; exit 1",
        "mmdebstrap": "exit 0",
    }
    if newuidmap:
        commands |= {"newuidmap": "exit 0", "newgidmap": "exit 0"}
    bin_dir = fake_bin(tmp_path, commands)
    etc = tmp_path / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    for name in ("subuid", "subgid"):
        (etc / name).write_text("builder:100000:65536\n" if subids else "")
    return bin_dir


def call(tmp_path: Path, bin_dir: Path, expression: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # /etc/subuid is read by path: point the functions at the fake copies.
    script = f"""
    . "{LIB}"; . "{PRIVILEGES_LIB}"
    subid_range() {{ awk -F: '$1 == "builder" && $3 >= 65536 {{ print $2, $3; exit }}' "{tmp_path}/etc/${{1##*/}}"; }}
    {expression}
    """
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), **(env or {})}
    return subprocess.run(["bash", "-c", script], env=environment, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("uid", "userns", "sudo", "expected"),
    [
        (0, "none", False, "root"),
        (1000, "full", False, "userns"),
        (1000, "full", True, "userns"),
        # The GitHub runner: the namespace is created, mounting is denied, sudo needs no password.
        (1000, "no-mount", True, "sudo"),
        (1000, "none", True, "sudo"),
        (1000, "no-mount", False, "none"),
    ],
)
def test_mode(tmp_path: Path, uid: int, userns: str, sudo: bool, expected: str):
    result = call(tmp_path, host(tmp_path, uid=uid, userns=userns, sudo=sudo), "privilege_mode")
    assert result.stdout.strip() == expected, result.stderr


def test_runner_probe_names_the_mount(tmp_path: Path):
    bin_dir = host(tmp_path, uid=1000, userns="no-mount", sudo=False)
    assert "mounting inside an unprivileged user namespace" in call(tmp_path, bin_dir, "userns_blocker").stdout


def test_missing_newuidmap_or_subids_closes_the_user_namespace_route(tmp_path: Path):
    no_tool = host(tmp_path / "a", uid=1000, userns="full", sudo=False, newuidmap=False)
    no_range = host(tmp_path / "b", uid=1000, userns="full", sudo=False, subids=False)
    assert "newuidmap/newgidmap are missing" in call(tmp_path / "a", no_tool, "userns_blocker").stdout
    assert "no subordinate id range" in call(tmp_path / "b", no_range, "userns_blocker").stdout
    assert call(tmp_path / "b", no_range, "privilege_mode").stdout.strip() == "none"


def test_user_namespace_maps_the_subordinate_range_for_build_and_entry(tmp_path: Path):
    bin_dir = host(tmp_path, uid=1000, userns="full", sudo=False)
    words = call(tmp_path, bin_dir, "namespace_command userns").stdout.split()
    assert words[:2] == ["unshare", "--map-root-user"]
    assert "--map-users=100000,1,65536" in words and "--map-groups=100000,1,65536" in words
    assert call(tmp_path, bin_dir, "namespace_command root").stdout.split() == [
        "unshare", "--mount", "--propagation", "private"]


def test_sudo_keeps_the_build_environment_and_the_callers_cache(tmp_path: Path):
    bin_dir = host(tmp_path, uid=1000, userns="no-mount", sudo=True)
    env = {
        "AWS_REGION": "eu-west-1",
        "AWS_SESSION_TOKEN": "token with spaces",
        "PIP_EXTRA_INDEX_URL": "https://download.pytorch.org/whl/cpu",
        "BAZEL_REMOTE_CACHE_URL": "http://cache:8080",
        "BAZEL_REMOTE_EXECUTOR_URL": "grpcs://remote.example:443",
        "TOOLS_BAZEL_DEBIAN_MIRROR": "http://mirror/debian",
        "GITHUB_TOKEN": "must-not-pass",
        "SECRET_THING": "must-not-pass",
    }
    result = call(tmp_path, bin_dir, "sudo_kept_environment | tr '\\0' '\\n'", env)
    kept = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert {key: kept[key] for key in env if key in kept} == {
        key: value for key, value in env.items() if not value == "must-not-pass"}
    assert kept["TOOLS_BAZEL_SYSROOT_CACHE"] == str(tmp_path / "home" / ".cache" / "analysis-lambda-sysroot")
    assert kept["TOOLS_BAZEL_CALLER"] == "1000:1000"
    assert kept["TOOLS_BAZEL_CALLER_HOME"] == str(tmp_path / "home")


def test_files_written_under_sudo_go_back_to_the_caller(tmp_path: Path):
    checkout = tmp_path / "checkout"
    (checkout / "infra").mkdir(parents=True)
    handoff = checkout / "infra" / "image.auto.tfvars.json"
    handoff.write_text("{}")
    link = checkout / "bazel-bin"
    link.symlink_to("/nonexistent/target")
    os.chown(checkout, 1234, 1234)
    script = f'. "{PRIVILEGES_LIB}"; return_checkout_to_caller "{checkout}"'
    subprocess.run(["bash", "-c", script], env={"PATH": "/usr/bin:/bin", "TOOLS_BAZEL_CALLER": "1234:1234"}, check=True)
    assert (handoff.stat().st_uid, os.lstat(link).st_uid, os.lstat(checkout / "infra").st_uid) == (1234, 1234, 1234)
