"""Module extension: one repository holding the locked Debian packages, fetched by Bazel's downloader.

Every .deb is checked against the SHA-256 in packages.lock.json and kept in the repository cache, so a second
machine (or CI with the cache restored) fetches nothing. Where to look is machine configuration: tools/bazel exports
TOOLS_BAZEL_DEBIAN_MIRRORS (`archive=URL …`, most preferred first, possibly empty); snapshot.debian.org follows
(urls.bzl), so a machine without a Debian mirror still fetches the exact locked files.
"""

load(":urls.bzl", "package_urls", "parse_mirrors")

_MIRRORS_ENV = "TOOLS_BAZEL_DEBIAN_MIRRORS"

def _debian_packages_impl(rctx):
    lock = json.decode(rctx.read(rctx.attr.lock))
    mirrors = parse_mirrors(rctx.os.environ.get(_MIRRORS_ENV, ""))
    names = []
    for package in lock["packages"]:
        name = "debs/%s_%s_%s.deb" % (package["name"], package["version"].replace(":", "%3a"), package["arch"])
        rctx.download(url = package_urls(package, lock["archives"], mirrors), output = name, sha256 = package["sha256"])
        names.append(name)
    rctx.file("BUILD.bazel", "\n".join([
        "# Generated from %s: the base image's Debian packages." % rctx.attr.lock,
        "filegroup(",
        "    name = \"debs\",",
        "    srcs = %s," % json.encode(sorted(names)),
        "    visibility = [\"//visibility:public\"],",
        ")",
        "",
    ]))

_debian_packages = repository_rule(
    implementation = _debian_packages_impl,
    attrs = {"lock": attr.label(mandatory = True, allow_single_file = [".json"])},
    # A changed mirror list re-runs the rule; the repository cache (keyed by SHA-256) still avoids re-downloads.
    environ = [_MIRRORS_ENV],
)

def _debian_impl(module_ctx):
    for mod in module_ctx.modules:
        for lock in mod.tags.lock:
            _debian_packages(name = lock.name, lock = lock.lock)

debian = module_extension(
    implementation = _debian_impl,
    tag_classes = {"lock": tag_class(attrs = {
        "lock": attr.label(mandatory = True),
        "name": attr.string(mandatory = True),
    })},
)
