"""Stamping the bazel-lib way: a `stamp` attribute (-1 follows --stamp) and the flag read through a config_setting.

A rule cannot read --stamp itself; a config_setting can, and a select() over it hands the answer to a rule as a
provider (stamp_setting), which the rules reach through a private attribute.
"""

StampSettingInfo = provider(
    doc = "Whether the build runs with --stamp.",
    fields = {"value": "bool: --stamp is on"},
)

def _stamp_setting_impl(ctx):
    return [StampSettingInfo(value = ctx.attr.value)]

stamp_setting = rule(
    implementation = _stamp_setting_impl,
    doc = "Carries `value` (a select() over the --stamp config_setting) to rules as StampSettingInfo.",
    attrs = {"value": attr.bool(mandatory = True, doc = "True under --stamp.")},
)

STAMP_ATTRS = {
    "stamp": attr.int(
        default = -1,
        values = [-1, 0, 1],
        doc = """Whether to expand workspace status keys ({STABLE_KEY}) into labels and annotations.
        1: always; 0: never; -1 (default): only under --stamp. Unstamped, the action does not read the status file,
        so a commit that changes nothing in the image (docs only) leaves its digest, and its cache entry, alone.""",
    ),
    "_stamp_setting": attr.label(
        default = Label("//tools/oci/private:stamp_setting"),
        providers = [StampSettingInfo],
        doc = "Whether --stamp is on (config_setting :stamp_flag behind a select()).",
    ),
}

def is_stamped(ctx):
    """True when this target stamps: `stamp` is 1, or -1 under --stamp."""
    if ctx.attr.stamp == -1:
        return ctx.attr._stamp_setting[StampSettingInfo].value
    return ctx.attr.stamp == 1
