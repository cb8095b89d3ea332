# shellcheck shell=bash
# Sysroot bookkeeping shared by tools/bazel and its tests. Sourced, never run.
#
# The sysroot is a pure function of the files in tools/sysroot/: their content hash names the directory
# it lives in (<cache>/sysroot-<hash>), so a changed definition gets a fresh sysroot and an unchanged one is
# reused. A build goes into <cache>/.building-* and is renamed into place only when it succeeded.

# Where sysroots live: outside the repository, shared by all clones on this machine.
sysroot_cache_dir() {
  printf '%s\n' "${TOOLS_BAZEL_SYSROOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/analysis-lambda-sysroot}"
}

# The pip configuration files pip itself reads (global, user, PIP_CONFIG_FILE), one a line, as the caller sees them:
# under sudo the caller's HOME (TOOLS_BAZEL_CALLER_HOME), not root's. preflight.sh hashes them, enter.sh copies them.
pip_config_files() {
  local home=${TOOLS_BAZEL_CALLER_HOME:-$HOME}
  printf '%s\n' /etc/pip.conf /etc/xdg/pip/pip.conf "$home/.config/pip/pip.conf" "$home/.pip/pip.conf" \
    ${PIP_CONFIG_FILE:+"$PIP_CONFIG_FILE"}
}

# The files that decide what the sysroot contains. enter.sh, this file and the other sourced helpers only use it,
# so editing them does not force a rebuild.
SYSROOT_DEFINITION=(packages.txt debian-snapshot.txt bootstrap.sh bazelrc stubs)

# Content hash of the sysroot definition under DEF_DIR: names and bytes of every definition file.
sysroot_definition_hash() {
  local def_dir=$1
  (cd "$def_dir" && find "${SYSROOT_DEFINITION[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16
}

# Prints the path of a ready sysroot for DEF_DIR, building it first with BUILD_CMD TARGET_DIR when none
# exists for the current definition. Older sysroots are removed after a successful build.
ensure_sysroot() {
  local def_dir=$1 build_cmd=$2 cache hash ready tmp
  cache=$(sysroot_cache_dir)
  hash=$(sysroot_definition_hash "$def_dir")
  ready=$cache/sysroot-$hash
  if [ -f "$ready/.sysroot-complete" ]; then
    printf '%s\n' "$ready"
    return 0
  fi
  mkdir -p "$cache"
  # One build at a time: a concurrent caller waits here, then finds the sysroot the first one built (two builds
  # would each replace the other's sysroot, under a running Bazel server).
  exec 8>"$cache/build.lock"
  flock 8
  if [ -f "$ready/.sysroot-complete" ]; then
    printf '%s\n' "$ready"
    return 0
  fi
  tmp=$(mktemp -d "$cache/.building-XXXXXX")
  if ! $build_cmd "$tmp/root"; then
    echo "tools/bazel: building the sysroot failed; the partial tree stays at $tmp for inspection" >&2
    return 1
  fi
  printf '%s\n' "$hash" >"$tmp/root/.sysroot-complete"
  rm -rf "$ready"
  mv "$tmp/root" "$ready"
  rmdir "$tmp"
  local old
  for old in "$cache"/sysroot-*; do
    [ "$old" = "$ready" ] || rm -rf --one-file-system "$old"
  done
  printf '%s\n' "$ready"
}

# True when PID is a live holder of a mount namespace other than ours: a killed holder that is not reaped yet is a
# zombie whose /proc entry remains (kill -0 succeeds) but whose namespace links are gone (nsenter: "cannot open
# /proc/PID/ns/mnt: No such file or directory").
holder_alive() { # holder_alive PID
  local ns
  ns=$(readlink "/proc/$1/ns/mnt" 2>/dev/null) || return 1
  [ "$ns" != "$(readlink /proc/self/ns/mnt)" ] && grep -q sleep "/proc/$1/cmdline" 2>/dev/null
}
