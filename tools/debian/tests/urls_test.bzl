"""Unit tests of urls.bzl: the order in which Bazel's downloader tries the sources of a locked package."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load("//tools/debian:urls.bzl", "package_urls", "parse_mirrors")

_ARCHIVES = {
    "debian": {"snapshot": "20261125T051059Z"},
    "debian-security": {"snapshot": "20261125T052230Z"},
}
_LIBSSL = {
    "archive": "debian-security",
    "path": "pool/updates/main/o/openssl/libssl3_3.0.22-1~deb12u2_amd64.deb",
    "sha1": "0123456789abcdef0123456789abcdef01234567",
}
_SNAPSHOT_URLS = [
    "https://snapshot.debian.org/archive/debian-security/20261125T052230Z/" + _LIBSSL["path"],
    "https://snapshot.debian.org/file/0123456789abcdef0123456789abcdef01234567",
]

def _parse_mirrors_test(ctx):
    env = unittest.begin(ctx)
    asserts.equals(
        env,
        [("debian", "http://a/debian"), ("debian-security", "http://a/sec"), ("debian", "http://b/debian")],
        parse_mirrors(" debian=http://a/debian/  debian-security=http://a/sec\tdebian=http://b/debian "),
    )
    asserts.equals(env, [], parse_mirrors(""))
    return unittest.end(env)

def _mirrors_of_the_archive_in_order_then_snapshot_test(ctx):
    env = unittest.begin(ctx)
    mirrors = parse_mirrors(
        "debian-security=http://override/sec debian=http://host/debian " +
        "debian-security=http://host/debian-security other=http://elsewhere",
    )
    asserts.equals(
        env,
        ["http://override/sec/" + _LIBSSL["path"], "http://host/debian-security/" + _LIBSSL["path"]] + _SNAPSHOT_URLS,
        package_urls(_LIBSSL, _ARCHIVES, mirrors),
    )
    return unittest.end(env)

def _no_mirror_means_snapshot_only_test(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, _SNAPSHOT_URLS, package_urls(_LIBSSL, _ARCHIVES, parse_mirrors("")))
    return unittest.end(env)

parse_mirrors_test = unittest.make(_parse_mirrors_test)
mirrors_of_the_archive_in_order_then_snapshot_test = unittest.make(_mirrors_of_the_archive_in_order_then_snapshot_test)
no_mirror_means_snapshot_only_test = unittest.make(_no_mirror_means_snapshot_only_test)

def urls_test_suite(name):
    unittest.suite(
        name,
        parse_mirrors_test,
        mirrors_of_the_archive_in_order_then_snapshot_test,
        no_mirror_means_snapshot_only_test,
    )
