"""lock.py's pure parts: the mirror list, the snapshot timestamp, archive and path of apt's URLs."""

import pytest

from tools.debian import lock

MIRRORS = {"debian": "http://deb.debian.org/debian", "debian-security": "http://deb.debian.org/debian-security"}


def test_parse_mirrors_keeps_order_per_archive():
    value = "debian=http://a/debian/ debian-security=http://a/sec  debian=http://b/debian"
    assert lock.parse_mirrors(value) == {"debian": ["http://a/debian", "http://b/debian"], "debian-security": ["http://a/sec"]}


def test_parse_mirrors_rejects_an_entry_without_archive():
    with pytest.raises(SystemExit, match="not archive=URL"):
        lock.parse_mirrors("http://deb.debian.org/debian")


def test_lock_uses_the_first_mirror_of_each_archive():
    mirrors = lock.parse_mirrors("debian=http://a/debian debian-security=http://a/sec debian=http://b/debian")
    assert lock.preferred_mirrors(mirrors) == {"debian": "http://a/debian", "debian-security": "http://a/sec"}


def test_lock_fails_clearly_without_a_security_mirror():
    with pytest.raises(SystemExit, match="no mirror for debian-security"):
        lock.preferred_mirrors(lock.parse_mirrors("debian=http://deb.debian.org/debian"))


def test_snapshot_timestamp_is_three_hours_after_the_newest_publication():
    dates = ["Sat, 11 Jul 2026 10:16:37 UTC", "Wed, 25 Nov 2026 02:10:59 UTC"]
    assert lock.snapshot_timestamp(dates) == "20261125T051059Z"
    assert lock.snapshot_timestamp(["Wed, 25 Nov 2026 23:22:30 +0000"]) == "20261126T022230Z"


def test_sources_list_reads_security_from_its_archive():
    lines = lock.sources_list(MIRRORS).splitlines()
    assert any(line.endswith("http://deb.debian.org/debian-security bookworm-security main") for line in lines)
    assert any(line.endswith("http://deb.debian.org/debian bookworm-updates main") for line in lines)


def test_archive_of_splits_the_archive_root_from_the_pool_path():
    url = "http://deb.debian.org/debian-security/pool/updates/main/o/openssl/libssl3_3.0.22-1%7edeb12u2_amd64.deb"
    assert lock.archive_of(url, MIRRORS) == ("debian-security", "pool/updates/main/o/openssl/libssl3_3.0.22-1~deb12u2_amd64.deb")
    # "debian" is a prefix of "debian-security": only a whole path component may match.
    url = "http://deb.debian.org/debian/pool/main/g/gcc-12/libstdc%2b%2b6_12.2.0-14%2bdeb12u1_amd64.deb"
    assert lock.archive_of(url, MIRRORS) == ("debian", "pool/main/g/gcc-12/libstdc++6_12.2.0-14+deb12u1_amd64.deb")


def test_selected_downloads_reads_lines_with_and_without_a_hash():
    output = (
        "'http://m/debian/pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb' zlib1g_1%3a1.2.13.dfsg-1_amd64.deb 86684 MD5Sum:ec42\n"
        # bookworm-security's lines carry no hash at all
        "'http://m/debian-security/pool/updates/main/e/expat/libexpat1_2.5.0-1%2bdeb12u5_amd64.deb' "
        "libexpat1_2.5.0-1+deb12u5_amd64.deb 107940 \n"
    )
    assert lock.selected_downloads(output) == [
        ("zlib1g=1:1.2.13.dfsg-1", "http://m/debian/pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb"),
        ("libexpat1=2.5.0-1+deb12u5", "http://m/debian-security/pool/updates/main/e/expat/libexpat1_2.5.0-1%2bdeb12u5_amd64.deb"),
    ]


def test_selected_downloads_never_drops_an_unreadable_line():
    with pytest.raises(SystemExit, match="cannot read"):
        lock.selected_downloads("'http://m/debian/pool/x.deb' x.deb notasize\n")
