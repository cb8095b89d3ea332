#!/usr/bin/env bash
# Mount namespace around the sysroot, in two steps called by tools/bazel:
#
#   enter.sh hold SYSROOT CACHE              # new namespace: base mounts, then sleeps to keep it alive
#   enter.sh run SYSROOT REPO CACHE -- CMD   # inside that namespace (nsenter): repo mount, host config, chroot
#
# One long-lived namespace serves every call, so the Bazel server (which outlives its client) and later
# clients see the same mounts: Bazel's client restarts a server whose working directory it cannot resolve.
# The repository and Bazel's caches appear at the same absolute paths inside, so paths Bazel prints are valid
# on the host too.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mode=$1
shift

bind() { # bind SRC DST [ro]
  if [ -d "$1" ]; then mkdir -p "$2"; else mkdir -p "$(dirname "$2")"; [ -e "$2" ] || : >"$2"; fi
  mount --bind "$1" "$2"
  [ "${3:-}" != ro ] || mount -o remount,bind,ro "$2"
}

if [ "$mode" = hold ]; then
  sysroot=$1 cache=$2
  # runc needs the root to be a mount point ("mount dst=/ ... MS_SLAVE: invalid argument" otherwise).
  mount --bind "$sysroot" "$sysroot"
  for fs in proc sys dev; do mkdir -p "$sysroot/$fs"; mount --rbind "/$fs" "$sysroot/$fs"; done
  bind "$cache/bazel-output" "$sysroot$cache/bazel-output"
  bind "$cache/repository-cache" "$sysroot$cache/repository-cache"
  mkdir -p "$cache/disk-cache"
  bind "$cache/disk-cache" "$sysroot$cache/disk-cache"
  for f in /etc/resolv.conf /etc/hosts; do [ -e "$f" ] && bind "$f" "$sysroot$f" ro; done
  # The sysroot's /tmp lives beside it, emptied whenever a new namespace starts (nothing can be running in it then),
  # so scratch output of runs and benchmarks never piles up in the sysroot or in a cached copy of it.
  rm -rf --one-file-system "$cache/tmp"
  mkdir -p "$cache/tmp"
  chmod 1777 "$cache/tmp"
  mount --bind "$cache/tmp" "$sysroot/tmp"
  exec sleep infinity
fi

[ "$mode" = run ] || { echo "enter.sh: unknown mode $mode" >&2; exit 2; }
sysroot=$1 repo=$2 cache=$3
shift 4

# Binds DIR at the same path inside, once; again if DIR was deleted and recreated since (a new clone at the
# old path): the namespace outlives checkouts, and a stale bind would show the deleted directory.
bind_same_path() { # bind_same_path DIR [ro]
  if mountpoint -q "$sysroot$1"; then
    [ "$(stat -c %d:%i "$1")" = "$(stat -c %d:%i "$sysroot$1" 2>/dev/null)" ] && return 0
    umount -l "$sysroot$1"
  fi
  bind "$1" "$sysroot$1" "${2:-}"
}

# Each clone is bound at its own path (CI clones elsewhere than the developer's checkout).
bind_same_path "$repo"
# Offline stand-ins for public downloads: directories whose files Bazel may take instead of fetching them, matched
# by file name and accepted only when the pinned SHA-256 matches (Bazel's --distdir). TOOLS_BAZEL_DISTDIR lists
# them (colon-separated); the team's shared folder beside the checkout holds the OCI image-spec schemas.
distdirs=()
IFS=: read -r -a wanted_distdirs <<<"${TOOLS_BAZEL_DISTDIR:-}"
wanted_distdirs+=("$(dirname "$repo")/shared/oci-image-spec/schema")
for dir in "${wanted_distdirs[@]}"; do
  [ -n "$dir" ] && [ -d "$dir" ] || continue
  bind_same_path "$dir" ro
  distdirs+=("$dir")
done

# Concurrent calls rewrite the same files below (CA bundle, pip configuration, host bazelrc): one at a time.
exec 7>"$cache/enter.lock"
flock 7

# The lock orders writers, not readers: pip and Bazel in another clone's call may read these files at any moment.
# So a file is replaced only when its bytes change, and by a rename, never removed and written again (a second
# clone's `bazel fetch` once failed with "Could not open requirements file: /etc/xdg/pip/constraints.txt").
install_file() { # install_file SRC DST
  cmp -s "$1" "$2" && return 0
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.new.$$"
  mv -f "$2.new.$$" "$2"
}

# --- Host trust anchors: a TLS-inspecting proxy's CA must be trusted by curl, pip and the Bazel server's JVM.
host_ca_dir=/usr/local/share/ca-certificates
sysroot_ca_dir=$sysroot/usr/local/share/ca-certificates/host
if [ -d "$host_ca_dir" ] && ! diff -rq "$host_ca_dir" "$sysroot_ca_dir" >/dev/null 2>&1; then
  echo "tools/bazel: trusting the host's extra CA certificates inside the sysroot" >&2
  rm -rf "$sysroot_ca_dir"
  mkdir -p "$sysroot_ca_dir"
  cp -rL "$host_ca_dir/." "$sysroot_ca_dir/"
  chroot "$sysroot" /usr/sbin/update-ca-certificates --fresh >/dev/null 2>&1 ||
    echo "tools/bazel: update-ca-certificates failed inside the sysroot" >&2
fi

# --- Host pip configuration: index URLs, find-links and constraints, so the CPU torch wheel is found the
# same way inside as outside. Config files are copied; local directories they name are bound read-only.
# Under sudo the caller's own files count, not root's (tools/bazel passes the caller's HOME).
home=${TOOLS_BAZEL_CALLER_HOME:-$HOME}
mapfile -t pip_files < <(pip_config_files)
declare -A installed=()
for f in "${pip_files[@]}"; do
  [ -n "$f" ] && [ -f "$f" ] || continue
  case "$f" in "$home"/*) dst=$sysroot/root/${f#"$home"/} ;; *) dst=$sysroot$f ;; esac
  install_file "$f" "$dst"
  installed[$dst]=1
done
if [ -d /etc/xdg/pip ]; then
  while IFS= read -r -d '' f; do
    install_file "$f" "$sysroot$f"
    installed[$sysroot$f]=1
  done < <(find /etc/xdg/pip -type f -print0)
fi
# What an earlier configuration left in pip's locations goes; nothing else lives there.
while IFS= read -r -d '' f; do
  [ -n "${installed[$f]:-}" ] || rm -f -- "$f"
done < <(find "$sysroot/etc/xdg/pip" "$sysroot/etc/pip.conf" "$sysroot/root/.config/pip" "$sysroot/root/.pip" \
  -type f -print0 2>/dev/null)
pip_values=$(cat "${pip_files[@]}" 2>/dev/null; env | sed -n 's/^PIP_[A-Z_]*=//p')
for path in $(printf '%s\n' "$pip_values" | grep -oE '(file://)?/[^ "'"'"',]+' | sed 's#^file://##' | sort -u); do
  path=${path%/}
  case "$path" in /etc/ssl/*|/etc/xdg/pip/*|/usr/*|/proc/*|/dev/*) continue ;; esac
  [ -e "$path" ] || continue
  # A simple index links to ../../files/...: bind the directory that holds "simple", not only "simple".
  case "$path" in */simple) path=$(dirname "$path") ;; esac
  mountpoint -q "$sysroot$path" && continue
  bind "$path" "$sysroot$path" ro
done

# --- Host-specific Bazel settings: the repository cache is shared by every clone on this machine.
{
  printf 'common --repository_cache=%s\n' "$cache/repository-cache"
  for dir in "${distdirs[@]}"; do printf 'common --distdir=%s\n' "$dir"; done
  # CI keeps action and test results between runs in a disk cache that it saves with its other caches
  # (tools/sysroot/archive.sh); a developer's machine has the output base for that.
  printf 'build:ci --disk_cache=%s\n' "$cache/disk-cache"
  # --config=remote-cache takes its URL from the environment (.bazelrc cannot read variables).
  [ -z "${BAZEL_REMOTE_CACHE_URL:-}" ] || printf 'build:remote-cache --remote_cache=%s\n' "$BAZEL_REMOTE_CACHE_URL"
  # --config=remote-exec likewise, from BAZEL_REMOTE_EXECUTOR_URL (any REAPI endpoint).
  [ -z "${BAZEL_REMOTE_EXECUTOR_URL:-}" ] || printf 'build:remote-exec --remote_executor=%s\n' "$BAZEL_REMOTE_EXECUTOR_URL"
} >"$cache/bazel-host.bazelrc.new.$$"
install_file "$cache/bazel-host.bazelrc.new.$$" "$sysroot/etc/bazel-host.bazelrc"
rm -f "$cache/bazel-host.bazelrc.new.$$"

exec 7>&-

workdir=$PWD
case "$workdir" in "$repo"|"$repo"/*) ;; *) workdir=$repo ;; esac
# shellcheck disable=SC2016 # the inner shell expands $1 and $@.
# A UTF-8 locale whatever the caller has (sudo and a clean CI environment drop it): the Bazel server's JVM takes its
# file-name encoding from it, and in the POSIX locale it crashes on the first non-ASCII file name it deletes (the
# image's CA certificates, unpacked by the container tests: "InvalidPathException: Malformed input").
exec chroot "$sysroot" /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 LC_ALL=C.UTF-8 /bin/sh -c 'cd "$1" && shift && exec "$@"' enter "$workdir" "$@"
