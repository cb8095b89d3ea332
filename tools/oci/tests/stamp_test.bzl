"""oci_image reads the workspace status only when it stamps: `stamp = -1` follows --stamp, 0 and 1 override it.

An analysis test, because the property is about the action's inputs: a stable-status.txt input reruns the action
after every commit, whatever the image's contents.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//tools/oci:defs.bzl", "oci_image")

_STAMP_FLAG = {"//command_line_option:stamp": True}

def _check(ctx, stamped):
    env = analysistest.begin(ctx)
    [action] = [a for a in analysistest.target_actions(env) if a.mnemonic == "OciImage"]
    inputs = [f.basename for f in action.inputs.to_list()]
    asserts.equals(env, stamped, "stable-status.txt" in inputs, "stable-status.txt among the OciImage inputs")
    asserts.equals(env, stamped, "--stamp-info-file" in action.argv, "--stamp-info-file on its command line")
    return analysistest.end(env)

def _unstamped_impl(ctx):
    return _check(ctx, stamped = False)

def _stamped_impl(ctx):
    return _check(ctx, stamped = True)

_unstamped_test = analysistest.make(_unstamped_impl)
_stamped_test = analysistest.make(_stamped_impl)
_unstamped_under_flag_test = analysistest.make(_unstamped_impl, config_settings = _STAMP_FLAG)
_stamped_under_flag_test = analysistest.make(_stamped_impl, config_settings = _STAMP_FLAG)

def stamp_test_suite(name):
    """Images with stamp -1, 0 and 1 that quote a status key, and one that quotes none, with and without --stamp."""
    revision = {"org.opencontainers.image.revision": "{STABLE_GIT_COMMIT}"}
    for suffix, stamp, labels in (
        ("follows_flag", -1, revision),
        ("never", 0, revision),
        ("always", 1, revision),
        ("always_but_quotes_no_key", 1, {"org.opencontainers.image.title": "probe"}),
    ):
        oci_image(
            name = "%s_%s" % (name, suffix),
            labels = labels,
            stamp = stamp,
            tags = ["manual"],  # analysed by the tests below, never built
        )
    tests = {
        "default_build_does_not_stamp": (_unstamped_test, "follows_flag"),
        "stamp_flag_stamps": (_stamped_under_flag_test, "follows_flag"),
        "stamp_0_ignores_the_flag": (_unstamped_under_flag_test, "never"),
        "stamp_1_stamps_without_the_flag": (_stamped_test, "always"),
        # Nothing to expand, so no status file to rerun on (the base image, say, under --stamp).
        "stamping_without_keys_reads_no_status": (_unstamped_under_flag_test, "always_but_quotes_no_key"),
    }
    for test_name, (test, image) in tests.items():
        test(name = "%s_%s" % (name, test_name), target_under_test = ":%s_%s" % (name, image))
    native.test_suite(name = name, tests = [":%s_%s" % (name, t) for t in tests])
