"""Resolves tools/debian/packages.in into packages.lock.json with apt, as if installing into an empty root.

    tools/bazel run //tools/debian:lock

apt does the dependency resolution (no resolver of our own): it runs with a private state directory holding only
Debian 12's indexes (bookworm, bookworm-updates and bookworm-security) and an empty dpkg status, and
`--print-uris` reports every .deb it would fetch. Each package is recorded with the archive it comes from and its
pool path relative to that archive's root, so the same lock works against any mirror of the archive and against
snapshot.debian.org. The mirrors are machine configuration (TOOLS_BAZEL_DEBIAN_MIRRORS, exported by tools/bazel);
this tool resolves against the first mirror given for each archive.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from datetime import timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

# Archive (its directory on a mirror and its name on snapshot.debian.org) -> the suites resolved from it.
# Security updates live in a separate archive; without it the image ships CVEs Debian has already fixed.
ARCHIVES = {
    "debian": ("bookworm", "bookworm-updates"),
    "debian-security": ("bookworm-security",),
}
ARCH = "amd64"
MIRRORS_ENV = "TOOLS_BAZEL_DEBIAN_MIRRORS"
# snapshot.debian.org serves, for a timestamp T, the newest import at or before T, and imports each archive about
# every 6 h, shortly after the archive publishes. The newest Release Date of an archive's suites is its latest
# publication; 3 h later that publication has been imported and the next one (>= 6 h later) has not.
SNAPSHOT_DELAY = timedelta(hours=3)
SNAPSHOT_FORMAT = "%Y%m%dT%H%M%SZ"
# 'URL' FILENAME SIZE [HASHTYPE:HEX]. apt prints the index's MD5sum there, and nothing for bookworm-security, whose
# index carries only SHA256 (seen with bookworm's apt 2.6); the SHA-256 comes from apt-cache.
URI_LINE = re.compile(r"^'(?P<url>[^']+)' (?P<file>\S+) (?P<size>\d+)( \S+)?$")


def wanted_packages(packages_in: Path) -> list[str]:
    names = []
    for line in packages_in.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    if not names:
        sys.exit(f"lock: {packages_in} lists no packages")
    return names


def parse_mirrors(value: str) -> dict[str, list[str]]:
    """'archive=URL archive=URL …' -> {archive: [URL, …]} in the order given (first = preferred)."""
    mirrors: dict[str, list[str]] = {}
    for entry in value.split():
        archive, sep, url = entry.partition("=")
        if not sep or not archive or not url:
            sys.exit(f"lock: {MIRRORS_ENV} entry {entry!r} is not archive=URL")
        mirrors.setdefault(archive, []).append(url.rstrip("/"))
    return mirrors


def preferred_mirrors(mirrors: dict[str, list[str]]) -> dict[str, str]:
    """The first mirror of each archive the lock resolves from; every archive needs one."""
    missing = [archive for archive in ARCHIVES if not mirrors.get(archive)]
    if missing:
        sys.exit(
            f"lock: {MIRRORS_ENV} names no mirror for {', '.join(missing)}; it needs one per archive, e.g. "
            f"{MIRRORS_ENV}='debian=http://deb.debian.org/debian debian-security=http://deb.debian.org/debian-security'"
        )
    return {archive: mirrors[archive][0] for archive in ARCHIVES}


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


def sources_list(mirrors: dict[str, str]) -> str:
    # The security archive's Release lists its component as updates/main, yet apt (and every mirror) accepts `main`.
    return "".join(
        f"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirrors[archive]} {suite} main\n"
        for archive, suites in ARCHIVES.items()
        for suite in suites
    )


def release_date(lists_dir: Path, suite: str) -> str:
    """The `Date:` of a suite's Release, read from the copy apt just fetched and verified (InRelease).

    Reading apt's copy rather than fetching dists/<suite>/Release again guarantees the date belongs to the very
    indexes the packages were resolved from, even if the mirror publishes in between.
    """
    found = sorted(lists_dir.glob(f"*_dists_{suite}_InRelease")) + sorted(lists_dir.glob(f"*_dists_{suite}_Release"))
    if not found:
        sys.exit(f"lock: apt fetched no Release file for {suite} into {lists_dir}")
    match = re.search(r"^Date: (.+)$", found[0].read_text(errors="replace"), flags=re.MULTILINE)
    if not match:
        sys.exit(f"lock: {found[0].name} has no Date: field")
    return match[1].strip()


def snapshot_timestamp(dates: list[str]) -> str:
    """The snapshot.debian.org timestamp that serves the state published at the newest of the Release dates."""
    newest = max(parsedate_to_datetime(date) for date in dates)
    return (newest.astimezone(timezone.utc) + SNAPSHOT_DELAY).strftime(SNAPSHOT_FORMAT)


def archive_of(url: str, mirrors: dict[str, str]) -> tuple[str, str]:
    """(archive, pool path relative to that archive's root) of a URL apt printed."""
    for archive, mirror in mirrors.items():
        if url.startswith(mirror + "/"):
            return archive, urllib.parse.unquote(url[len(mirror) + 1 :])
    sys.exit(f"lock: apt chose {url}, which is under none of the mirrors {sorted(mirrors.values())}")


def selected_downloads(output: str) -> list[tuple[str, str]]:
    """(name=version, URL) of every .deb apt would fetch, from `apt-get --print-uris install`."""
    selected = []
    for line in output.splitlines():
        line = line.strip()
        match = URI_LINE.match(line)
        if line.startswith("'") and not match:
            sys.exit(f"lock: cannot read apt's download line {line!r}")  # never drop a package silently
        if match:
            name, version, _arch = urllib.parse.unquote(match["file"]).removesuffix(".deb").split("_")
            selected.append((f"{name}={version}", match["url"]))
    if not selected:
        sys.exit("lock: apt resolved no packages; its output was:\n" + output)
    return selected


def apt_cache_show(root: Path, selected: list[str]) -> list[dict]:
    """The index records (Package, Version, SHA256, Size, ...) of exactly the selected name=version pairs."""
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


def resolve(mirrors: dict[str, str], packages: list[str]) -> tuple[dict, list[dict]]:
    """Runs apt in a private state dir: ({archive: {suites: {suite: {date}}}}, unhashed package entries)."""
    with tempfile.TemporaryDirectory(prefix="debian-lock-") as tmp:
        root = Path(tmp)
        for sub in ("state/lists/partial", "cache/archives/partial"):
            (root / sub).mkdir(parents=True)
        (root / "status").write_text("")
        (root / "preferences").write_text("")
        (root / "sources.list").write_text(sources_list(mirrors))
        all_suites = [suite for suites in ARCHIVES.values() for suite in suites]
        print(f"lock: reading the {', '.join(all_suites)} indexes", file=sys.stderr)
        apt(root, "-q", "update")
        archives = {
            archive: {"suites": {suite: {"date": release_date(root / "state/lists", suite)} for suite in suites}}
            for archive, suites in ARCHIVES.items()
        }
        selected = selected_downloads(apt(root, "-qq", "--print-uris", "install", *packages))
        records = apt_cache_show(root, [pair for pair, _url in selected])

    by_pair = {f"{record['Package']}={record['Version']}": record for record in records}
    entries = []
    for pair, url in selected:
        record = by_pair[pair]
        archive, path = archive_of(url, mirrors)
        entries.append(
            {
                "name": record["Package"],
                "version": record["Version"],
                "arch": record["Architecture"],
                "archive": archive,
                "path": path,
                "sha256": record["SHA256"],
                "size": int(record["Size"]),
            }
        )
    return archives, sorted(entries, key=lambda e: e["name"])


def sha1_of_verified(url: str, sha256: str, size: int) -> str:
    """Downloads a .deb once, checks it against the index's SHA-256 and size, and returns its SHA-1.

    snapshot.debian.org addresses files by SHA-1 (/file/<sha1>), which apt's indexes no longer carry; that URL
    keeps working even when a path's archive or timestamp is wrong, and the SHA-256 still guards the content.
    """
    sha1, sha256_hash, length = hashlib.sha1(), hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=60) as response:
        while chunk := response.read(1 << 20):
            sha1.update(chunk)
            sha256_hash.update(chunk)
            length += len(chunk)
    if (sha256_hash.hexdigest(), length) != (sha256, size):
        sys.exit(f"lock: {url} has sha256 {sha256_hash.hexdigest()} ({length} bytes); the index says {sha256} ({size})")
    return sha1.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    parser.add_argument("--packages", type=Path, default=workspace / "tools/debian/packages.in")
    parser.add_argument("--out", type=Path, default=workspace / "tools/debian/packages.lock.json")
    args = parser.parse_args()

    mirrors = preferred_mirrors(parse_mirrors(os.environ.get(MIRRORS_ENV, "")))
    packages = wanted_packages(args.packages)
    archives, entries = resolve(mirrors, packages)
    missing = set(packages) - {entry["name"] for entry in entries}
    if missing:
        sys.exit(f"lock: the resolution lacks requested packages {sorted(missing)}")
    for info in archives.values():
        info["snapshot"] = snapshot_timestamp([suite["date"] for suite in info["suites"].values()])
    print(f"lock: downloading {len(entries)} packages to verify them and take their SHA-1", file=sys.stderr)
    for entry in entries:
        entry["sha1"] = sha1_of_verified(f"{mirrors[entry['archive']]}/{entry['path']}", entry["sha256"], entry["size"])
    lock = {
        "comment": (
            "Generated by `tools/bazel run //tools/debian:lock` from packages.in. Each path is relative to the root of "
            "its archive (a mirror, or snapshot.debian.org/archive/<archive>/<snapshot>); sha1 names the file on "
            "snapshot.debian.org/file/. See tools/debian/README.md."
        ),
        "archives": archives,
        "requested": packages,
        "packages": entries,
    }
    args.out.write_text(json.dumps(lock, indent=2) + "\n")
    total = sum(e["size"] for e in entries)
    print(f"lock: {len(entries)} packages ({total / 1e6:.1f} MB of .deb) -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
