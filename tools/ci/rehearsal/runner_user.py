"""The runner user: passwordless sudo and no subordinate id range, which is how the rehearsal simulates GitHub's
AppArmor (a user namespace may be created but nothing mounted in it), so tools/bazel goes through sudo."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from .console import die, log, run
from .layout import SUDOERS_FILE, Layout


def ensure_sudo() -> None:
    if shutil.which("sudo"):
        return
    log("installing sudo (apt-get install -y sudo)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if run(["apt-get", "install", "-y", "-q", "sudo"], check=False, env=env).returncode != 0:
        run(["apt-get", "-o", "Acquire::Check-Valid-Until=false", "update"], env=env)
        run(["apt-get", "install", "-y", "-q", "sudo"], env=env)


def ensure_runner_user(layout: Layout, state: dict) -> None:
    try:
        pwd.getpwnam(layout.user)
        if not state.get("created_user"):
            die(f"a user {layout.user!r} exists that this rehearsal did not create; remove it or pick --user")
    except KeyError:
        log(f"creating user {layout.user}")
        run(["useradd", "-m", "-d", str(layout.home), "-s", "/bin/bash", layout.user])
        state["created_user"] = layout.user
    uid = str(pwd.getpwnam(layout.user).pw_uid)
    # No subordinate id range: tools/bazel must not take the user-namespace route (GitHub's AppArmor blocks it).
    for subid_file in (Path("/etc/subuid"), Path("/etc/subgid")):
        if not subid_file.exists():
            continue
        lines = subid_file.read_text().splitlines(keepends=True)
        kept = [line for line in lines if line.split(":", 1)[0] not in (layout.user, uid)]
        if kept != lines:
            subid_file.write_text("".join(kept))
            log(f"removed {layout.user}'s subordinate id range from {subid_file}")
    staging = SUDOERS_FILE.with_name(".rehearsal-runner.tmp")  # a dot in the name: sudo ignores it meanwhile
    staging.write_text(f"{layout.user} ALL=(ALL) NOPASSWD:ALL\n")
    staging.chmod(0o440)
    if shutil.which("visudo"):
        run(["visudo", "-cqf", str(staging)])
    staging.rename(SUDOERS_FILE)
