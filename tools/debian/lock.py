"""Resolves tools/debian/packages.in into packages.lock.json with apt, as if installing into an empty root.

    tools/bazel run //tools/debian:lock

apt does the dependency resolution (no resolver of our own): it runs with a private state directory holding only
Debian 12's indexes and an empty dpkg status, and `--print-uris` reports every .deb it would fetch with its
SHA-256. The lock stores paths relative to the Debian mirror; the mirror itself is machine configuration
(TOOLS_BAZEL_DEBIAN_MIRROR, exported by tools/bazel), so the same lock works against any mirror or snapshot.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

SUITES = ("bookworm", "bookworm-updates")
ARCH = "amd64"
# 'URL' FILENAME SIZE HASHTYPE:HEX (apt prints whichever hash it prefers; the SHA-256 comes from apt-cache)
URI_LINE = re.compile(r"^'(?P<url>[^']+)' (?P<file>\S+) (?P<size>\d+) \S+$")


def wanted_packages(packages_in: Path) -> list[str]:
    names = []
    for line in packages_in.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    if not names:
        sys.exit(f"lock: {packages_in} lists no packages")
    return names


def apt_options(root: Path) -> list[str]:
    return [
        f"-oDir::State={root}/state",
        f"-oDir::State::status={root}/status",
        f"-oDir::Cache={root}/cache",
        f"-oDir::Etc::SourceList={root}/sources.list",
        "-oDir::Etc::SourceParts=/nonexistent",
        f"-oDir::Etc::Preferences={root}/preferences",
        "-oDir::Etc::PreferencesParts=/nonexistent",
        f"-oAPT::Architecture={ARCH}",
        "-oAPT::Architectures=",
        "-oAPT::Install-Recommends=false",
        "-oAcquire::Check-Valid-Until=false",  # the mirror may serve a frozen snapshot
        "-oAcquire::Languages=none",
    ]


def apt(root: Path, *args: str) -> str:
    result = subprocess.run(["apt-get", *apt_options(root), *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"lock: apt-get {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def resolve(mirror: str, packages: list[str]) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="debian-lock-") as tmp:
        root = Path(tmp)
        for sub in ("state/lists/partial", "cache/archives/partial"):
            (root / sub).mkdir(parents=True)
        (root / "status").write_text("")
        (root / "preferences").write_text("")
        (root / "sources.list").write_text(
            "".join(
                f"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} {suite} main\n"
                for suite in SUITES
            )
        )
        print(f"lock: reading the {', '.join(SUITES)} indexes", file=sys.stderr)
        apt(root, "-q", "update")
        output = apt(root, "-qq", "--print-uris", "install", *packages)
        selected = []
        for line in output.splitlines():
            match = URI_LINE.match(line.strip())
            if match:
                name, version, _arch = urllib.parse.unquote(match["file"]).removesuffix(".deb").split("_")
                selected.append(f"{name}={version}")
        if not selected:
            sys.exit("lock: apt resolved no packages; its output was:\n" + output)
        records = apt_cache_show(root, selected)

    entries = [
        {
            "name": record["Package"],
            "version": record["Version"],
            "arch": record["Architecture"],
            "sha256": record["SHA256"],
            "size": int(record["Size"]),
            "path": record["Filename"],
        }
        for record in records
    ]
    return sorted(entries, key=lambda e: e["name"])


def apt_cache_show(root: Path, selected: list[str]) -> list[dict]:
    """The index records (Filename, SHA256, Size, ...) of exactly the selected name=version pairs."""
    result = subprocess.run(
        ["apt-cache", *apt_options(root), "--no-all-versions", "show", *selected], capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"lock: apt-cache show failed:\n{result.stderr}")
    records = []
    for stanza in result.stdout.strip().split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z0-9-]+): ?(.*)$", stanza, flags=re.MULTILINE))
        records.append(fields)
    if len(records) != len(selected):
        sys.exit(f"lock: apt-cache returned {len(records)} records for {len(selected)} packages")
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    parser.add_argument("--packages", type=Path, default=workspace / "tools/debian/packages.in")
    parser.add_argument("--out", type=Path, default=workspace / "tools/debian/packages.lock.json")
    args = parser.parse_args()

    mirror = os.environ.get("TOOLS_BAZEL_DEBIAN_MIRROR", "").rstrip("/")
    if not mirror:
        sys.exit("lock: TOOLS_BAZEL_DEBIAN_MIRROR is not set (tools/bazel sets it from the host's apt sources)")
    packages = wanted_packages(args.packages)
    entries = resolve(mirror, packages)
    lock = {
        "comment": "Generated by `tools/bazel run //tools/debian:lock` from packages.in. Paths are relative to the Debian mirror.",
        "suites": list(SUITES),
        "requested": packages,
        "packages": entries,
    }
    args.out.write_text(json.dumps(lock, indent=2) + "\n")
    total = sum(e["size"] for e in entries)
    print(f"lock: {len(entries)} packages ({total / 1e6:.1f} MB of .deb) -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
