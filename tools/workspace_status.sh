#!/usr/bin/env bash
# Bazel workspace status: stable keys that stamped image labels quote ({STABLE_GIT_COMMIT}).
# Bazel runs this on every build, but only a stamped oci_image (--stamp) reads the result; an unstamped build
# neither depends on it nor changes when it does. Without git, the key is left out rather than set to a
# placeholder: a stamped image that needs it then fails to build (tools/oci/assemble.py) instead of shipping a
# revision label that says nothing.
if commit=$(git rev-parse HEAD 2>/dev/null); then
  echo "STABLE_GIT_COMMIT $commit"
fi
