"""Module extension: one repository holding the locked Debian packages, fetched by Bazel's downloader.

Every .deb is checked against the SHA-256 in packages.lock.json and kept in the repository cache, so a second
machine (or CI with the cache restored) fetches nothing. The mirror is machine configuration: tools/bazel exports
TOOLS_BAZEL_DEBIAN_MIRROR from the host's apt sources.
"""

def _debian_packages_impl(rctx):
    lock = json.decode(rctx.read(rctx.attr.lock))
    mirror = rctx.os.environ.get("TOOLS_BAZEL_DEBIAN_MIRROR", "").rstrip("/")
    if not mirror:
        fail("TOOLS_BAZEL_DEBIAN_MIRROR is not set: run Bazel through tools/bazel, or export it (a Debian archive URL)")
    names = []
    for package in lock["packages"]:
        name = "%s_%s_%s.deb" % (package["name"], package["version"].replace(":", "%3a"), package["arch"])
        rctx.download(url = mirror + "/" + package["path"], output = "debs/" + name, sha256 = package["sha256"])
        names.append("debs/" + name)
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
    environ = ["TOOLS_BAZEL_DEBIAN_MIRROR"],
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
