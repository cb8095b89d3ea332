#!/usr/bin/env bash
# Bazel workspace status: stable keys that image labels may quote ({STABLE_GIT_COMMIT}).
echo "STABLE_GIT_COMMIT $(git rev-parse HEAD 2>/dev/null || echo unknown)"
