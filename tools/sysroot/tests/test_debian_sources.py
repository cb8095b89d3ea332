"""Which Debian archive the build takes packages from: override, else the host's mirror when it serves the
recorded state, else the public snapshot archive. Fake apt sources and fake Release files (file:// mirrors)."""

import os
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

SYSROOT_DIR = Path(__file__).resolve().parents[1]
SOURCES_LIB = SYSROOT_DIR / "debian_sources.sh"
RECORD = SYSROOT_DIR / "debian-snapshot.txt"
SNAPSHOT = "https://snapshot.example/archive"

FORKY_DATE = "Fri, 30 Oct 2026 08:08:01 UTC"
BOOKWORM_DATE = "Sat, 11 Jul 2026 10:16:37 UTC"
FAKE_RECORD = f"""# a comment
snapshot debian   20261030T110801Z
suite    debian   forky     {FORKY_DATE}
suite    debian   bookworm  {BOOKWORM_DATE}
"""


def run(function: str, *args: str, apt_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ["PATH"],
        "TOOLS_BAZEL_APT_DIR": str(apt_dir),
        "TOOLS_BAZEL_SNAPSHOT_URL": SNAPSHOT,
        **(env or {}),
    }
    script = f'. "{SOURCES_LIB}" && {function} "$@"'
    return subprocess.run(["bash", "-c", script, "test", *args], env=environment, capture_output=True, text=True)


def mirror(root: Path, name: str, dates: dict[str, str]) -> str:
    """A file:// Debian archive whose dists/SUITE/Release carry the given dates."""
    base = root / name / "debian"
    for suite, date in dates.items():
        (base / "dists" / suite).mkdir(parents=True)
        (base / "dists" / suite / "Release").write_text(f"Origin: Debian\nSuite: {suite}\nDate: {date}\n")
    return f"file://{base}"


@pytest.fixture
def record(tmp_path: Path) -> Path:
    path = tmp_path / "record.txt"
    path.write_text(FAKE_RECORD)
    return path


def apt_sources(tmp_path: Path, deb822: list[str] = (), one_line: list[str] = ()) -> Path:
    apt_dir = tmp_path / "apt"
    (apt_dir / "sources.list.d").mkdir(parents=True)
    if deb822:
        (apt_dir / "sources.list.d" / "debian.sources").write_text(
            "Types: deb\nURIs: " + " ".join(deb822) + "\nSuites: bookworm\nComponents: main\n"
        )
    (apt_dir / "sources.list").write_text("".join(f"deb [arch=amd64] {url} bookworm main\n" for url in one_line))
    return apt_dir


def test_host_mirror_with_the_recorded_dates_is_used(tmp_path: Path, record: Path):
    url = mirror(tmp_path, "same", {"forky": FORKY_DATE, "bookworm": BOOKWORM_DATE})
    result = run("archive_url", str(record), "debian", apt_dir=apt_sources(tmp_path, deb822=[url]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == url


def test_host_mirror_with_a_newer_publication_falls_back_to_the_snapshot(tmp_path: Path, record: Path):
    url = mirror(tmp_path, "newer", {"forky": "Sat, 31 Oct 2026 08:05:12 UTC", "bookworm": BOOKWORM_DATE})
    result = run("archive_url", str(record), "debian", apt_dir=apt_sources(tmp_path, one_line=[url]))
    assert result.stdout.strip() == f"{SNAPSHOT}/debian/20261030T110801Z"


def test_host_mirror_missing_a_suite_falls_back_to_the_snapshot(tmp_path: Path, record: Path):
    url = mirror(tmp_path, "partial", {"bookworm": BOOKWORM_DATE})
    result = run("archive_url", str(record), "debian", apt_dir=apt_sources(tmp_path, deb822=[url]))
    assert result.stdout.strip() == f"{SNAPSHOT}/debian/20261030T110801Z"


def test_the_matching_one_of_several_host_mirrors_is_chosen(tmp_path: Path, record: Path):
    stale = mirror(tmp_path, "stale", {"forky": "Thu, 01 Oct 2026 07:55:00 UTC", "bookworm": BOOKWORM_DATE})
    same = mirror(tmp_path, "same", {"forky": FORKY_DATE, "bookworm": BOOKWORM_DATE})
    result = run("archive_url", str(record), "debian", apt_dir=apt_sources(tmp_path, deb822=[stale], one_line=[same]))
    assert result.stdout.strip() == same


def test_ubuntu_host_without_debian_sources_uses_the_snapshot(tmp_path: Path, record: Path):
    apt_dir = apt_sources(tmp_path, one_line=["http://archive.ubuntu.com/ubuntu"])
    assert run("host_archive_urls", "debian", apt_dir=apt_dir).stdout == ""
    result = run("archive_url", str(record), "debian", apt_dir=apt_dir)
    assert result.stdout.strip() == f"{SNAPSHOT}/debian/20261030T110801Z"


def test_override_wins_even_over_a_matching_host_mirror(tmp_path: Path, record: Path):
    same = mirror(tmp_path, "same", {"forky": FORKY_DATE, "bookworm": BOOKWORM_DATE})
    result = run(
        "archive_url", str(record), "debian",
        apt_dir=apt_sources(tmp_path, deb822=[same]),
        env={"TOOLS_BAZEL_DEBIAN_MIRROR": "http://mirror.example/debian/"},
    )
    assert result.stdout.strip() == "http://mirror.example/debian"


def test_archive_without_a_recorded_snapshot_is_an_error(tmp_path: Path, record: Path):
    result = run("archive_url", str(record), "debian-security", apt_dir=apt_sources(tmp_path))
    assert result.returncode != 0
    assert "records no snapshot for debian-security" in result.stderr


def test_download_mirrors_lists_overrides_then_host_mirrors_per_archive(tmp_path: Path):
    apt_dir = apt_sources(
        tmp_path,
        deb822=["http://deb.example/debian", "http://deb.example/debian-security/"],
        one_line=["http://other.example/debian", "http://archive.ubuntu.com/ubuntu"],
    )
    result = run("download_mirrors", apt_dir=apt_dir, env={"TOOLS_BAZEL_DEBIAN_MIRROR": "http://override.example/debian"})
    assert result.stdout.split() == [
        "debian=http://override.example/debian",
        "debian=http://deb.example/debian",
        "debian=http://other.example/debian",
        "debian-security=http://deb.example/debian-security",
    ]


def parse_release_date(value: str) -> datetime:
    return datetime.strptime(value, "%a, %d %b %Y %H:%M:%S %Z").replace(tzinfo=timezone.utc)


def test_recorded_snapshot_serves_every_recorded_suite():
    """The timestamp lies after every suite's publication, and within the 6 h before testing publishes again."""
    lines = [line.split("#", 1)[0].split(None, 3) for line in RECORD.read_text().splitlines()]
    lines = [fields for fields in lines if fields]
    snapshots = {fields[1]: fields[2] for fields in lines if fields[0] == "snapshot"}
    suites = [(fields[1], fields[2], parse_release_date(fields[3])) for fields in lines if fields[0] == "suite"]
    assert set(snapshots) == {"debian"} and {name for _, name, _ in suites} == {"forky", "bookworm"}
    for archive, stamp in snapshots.items():
        assert re.fullmatch(r"\d{8}T\d{6}Z", stamp), stamp
        at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        dates = [date for suite_archive, _, date in suites if suite_archive == archive]
        assert all(date <= at for date in dates), f"{archive} snapshot {stamp} precedes a recorded publication"
        assert at - max(dates) < timedelta(hours=6), f"{archive} snapshot {stamp} may include a later publication"


def test_sysroot_pins_only_suites_the_record_covers():
    """packages.txt's versions come from forky and bookworm: the two suites whose state is recorded."""
    bootstrap = (SYSROOT_DIR / "bootstrap.sh").read_text()
    used = set(re.findall(r'"deb \$mirror (\S+) main"', bootstrap))
    recorded = {fields[2] for fields in (line.split() for line in RECORD.read_text().splitlines())
                if fields and fields[0] == "suite"}
    assert used == recorded == {"forky", "bookworm"}
