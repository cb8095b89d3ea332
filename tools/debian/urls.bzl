"""Where Bazel's downloader looks for a locked Debian package, in order. Pure functions: tests/urls_test.bzl."""

SNAPSHOT = "https://snapshot.debian.org"

def parse_mirrors(value):
    """Parses TOOLS_BAZEL_DEBIAN_MIRRORS.

    Args:
      value: space-separated `archive=URL` entries, most preferred first; may be empty (no Debian mirror here).

    Returns:
      A list of (archive, URL without trailing slash) in the given order.
    """
    mirrors = []
    # Starlark's split() needs a separator: turn other blanks into spaces and skip the empty words.
    for entry in value.replace("\t", " ").replace("\n", " ").split(" "):
        if not entry:
            continue
        archive, sep, url = entry.partition("=")
        if not sep or not archive or not url:
            fail("TOOLS_BAZEL_DEBIAN_MIRRORS: %r is not archive=URL" % entry)
        mirrors.append((archive, url.rstrip("/")))
    return mirrors

def package_urls(package, archives, mirrors):
    """The URLs of one locked package, for one download call (Bazel tries them in order).

    Every mirror of the package's archive comes first (fast, local). Then snapshot.debian.org at the lock's
    timestamp, which keeps every version Debian ever published even after a point release drops it from the
    mirrors; last its content-addressed URL, which needs neither the archive nor the timestamp to be right.
    The SHA-256 checked by the downloader makes every source equally safe.

    Args:
      package: an entry of packages.lock.json's "packages" (archive, path, sha1).
      archives: packages.lock.json's "archives" (each with its "snapshot" timestamp).
      mirrors: parse_mirrors()'s result.

    Returns:
      A list of URLs.
    """
    archive = package["archive"]
    urls = [url + "/" + package["path"] for name, url in mirrors if name == archive]
    urls.append("%s/archive/%s/%s/%s" % (SNAPSHOT, archive, archives[archive]["snapshot"], package["path"]))
    urls.append("%s/file/%s" % (SNAPSHOT, package["sha1"]))
    return urls
