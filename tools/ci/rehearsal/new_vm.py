"""A new VM: the runner's home from /etc/skel, the checkout as actions/checkout makes it, and the read-only copy of
the OCI schemas that stands in for the downloads from GitHub."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from .console import run
from .layout import REPO, Layout


def remove_tree(path: Path) -> None:
    if path.exists() or path.is_symlink():
        run(["rm", "-rf", "--one-file-system", str(path)])


def fresh_home(layout: Layout) -> None:
    """A new VM: an empty home from /etc/skel, the work directory GitHub's runner has, nothing beside the checkout."""
    remove_tree(layout.home)
    shutil.copytree("/etc/skel", layout.home, symlinks=True)
    layout.temp.mkdir(parents=True)
    layout.workspace.mkdir(parents=True)
    entry = pwd.getpwnam(layout.user)
    run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(layout.home)])
    layout.home.chmod(0o750)


def checkout(layout: Layout, commit: str, branch: str, event: str) -> None:
    """What actions/checkout does: one commit, depth 1, into $GITHUB_WORKSPACE (here from the local repository)."""
    ws = str(layout.workspace)
    git = ["git", "-c", "init.defaultBranch=main", "-c", "advice.detachedHead=false", "-c", f"safe.directory={ws}"]
    run(git + ["init", "-q", ws])
    run(git + ["-C", ws, "remote", "add", "origin", f"file://{REPO}"])
    ref = f"refs/remotes/origin/{branch}" if event == "push" else "refs/remotes/pull/1/merge"
    run(git + ["-C", ws, "-c", "protocol.version=2", "fetch", "-q", "--no-tags", "--prune", "--no-recurse-submodules",
               "--depth=1", "origin", f"+{commit}:{ref}"])
    if event == "push":
        run(git + ["-C", ws, "checkout", "-q", "--force", "-B", branch, ref])
    else:
        run(git + ["-C", ws, "checkout", "-q", "--force", ref])
    entry = pwd.getpwnam(layout.user)
    run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", ws])


def make_distdir(source: Path, root: Path) -> Path:
    """A read-only copy of the OCI schemas, outside the workspace: the stand-in for the GitHub downloads."""
    if root.exists():
        run(["chmod", "-R", "u+w", str(root)])
        shutil.rmtree(root)
    target = root / "oci-image-spec" / "schema"
    shutil.copytree(source, target)
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444)
        os.chmod(dirpath, 0o555)
    return target
