"""packages.lock.json as committed: complete records, the security suite, snapshot timestamps that serve the lock."""

import json
import re
import subprocess
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

HERE = Path(__file__).absolute().parent.parent  # the runfiles copy of tools/debian
LOCK = json.loads((HERE / "packages.lock.json").read_text())
PACKAGES = LOCK["packages"]
ARCHIVES = LOCK["archives"]
# snapshot.debian.org imports each archive about every 6 h: a timestamp more than that after the newest Release Date
# may already serve a later publication, whose indexes no longer list what was locked.
IMPORT_INTERVAL = timedelta(hours=6)


def snapshot_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def suite_dates(archive: str) -> dict[str, datetime]:
    return {suite: parsedate_to_datetime(info["date"]) for suite, info in ARCHIVES[archive]["suites"].items()}


def test_resolves_the_security_suite_from_its_own_archive():
    assert "bookworm-security" in ARCHIVES["debian-security"]["suites"]
    assert {"bookworm", "bookworm-updates"} <= set(ARCHIVES["debian"]["suites"])


def test_requested_is_packages_in():
    wanted = [line.split("#", 1)[0].strip() for line in (HERE / "packages.in").read_text().splitlines()]
    assert LOCK["requested"] == [name for name in wanted if name]


@pytest.mark.parametrize("package", PACKAGES, ids=[p["name"] for p in PACKAGES])
def test_package_record_is_complete(package):
    assert package["archive"] in ARCHIVES
    assert re.fullmatch(r"pool/[A-Za-z0-9/+.~_-]+\.deb", package["path"]), package["path"]
    # The security archive's pool is pool/updates/<component>/…; the main archive's is pool/<component>/…
    assert package["path"].startswith("pool/updates/") == (package["archive"] == "debian-security")
    assert re.fullmatch(r"[0-9a-f]{40}", package["sha1"])
    assert re.fullmatch(r"[0-9a-f]{64}", package["sha256"])
    assert isinstance(package["size"], int) and package["size"] > 0
    assert package["path"].endswith(f"_{package['arch']}.deb")


def test_each_package_once():
    names = [p["name"] for p in PACKAGES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("archive", sorted(ARCHIVES))
def test_snapshot_timestamp_serves_every_suite(archive):
    snapshot = snapshot_time(ARCHIVES[archive]["snapshot"])
    dates = suite_dates(archive)
    assert dates, f"{archive} records no suite"
    for suite, date in dates.items():
        assert snapshot >= date, f"{archive} snapshot {snapshot} is before {suite}'s publication {date}"
    assert snapshot - max(dates.values()) <= IMPORT_INTERVAL


# bookworm-security's versions on the day the security suite joined the lock (issue 9): the older ones the image
# had before carry CVEs Debian had fixed. A re-lock may move them forward, never back.
SECURITY_FLOOR = {
    "libssl3": "3.0.22-1~deb12u2",
    "libexpat1": "2.5.0-1+deb12u5",
    "python3.11-minimal": "3.11.2-6+deb12u9",
}


@pytest.mark.parametrize("name", sorted(SECURITY_FLOOR))
def test_security_fixes_are_locked(name):
    version = {p["name"]: p["version"] for p in PACKAGES}[name]
    # dpkg's own ordering (epochs, ~, +): a string comparison would get Debian versions wrong.
    result = subprocess.run(["dpkg", "--compare-versions", version, "ge", SECURITY_FLOOR[name]], check=False)
    assert result.returncode == 0, f"{name} {version} is older than {SECURITY_FLOOR[name]}"
