#!/usr/bin/env bash
# The sysroot and Bazel's repository cache in and out of a CI cache, as one file each.
#
#   archive.sh key                       # cache key part for the sysroot: its definition hash (lib.sh)
#   archive.sh save FILE                 # (root) <cache>/sysroot-<hash> -> FILE
#   archive.sh restore FILE              # (root) FILE -> <cache>/sysroot-<hash>; refused unless FILE holds that <hash>
#   archive.sh save-repo-cache FILE      # (root) <cache>/repository-cache -> FILE
#   archive.sh restore-repo-cache FILE   # (root) FILE -> merged into <cache>/repository-cache
#
# <cache> is lib.sh's sysroot_cache_dir (TOOLS_BAZEL_SYSROOT_CACHE). Why this exists: actions/cache runs tar as the
# runner user, so it can neither read nor recreate a root-owned tree with device nodes. This runs as root (sudo),
# keeps owners and modes with numeric ids (the sysroot's users are not the host's), and gives FILE to the sudo caller
# so the cache action can upload it. zstd compresses when the host has it, else gzip; restore reads either.
#
# The sysroot archive leaves out the contents of dev/, proc/, sys/ and tmp/ (the directories stay, with their
# modes), root/.cache, and what enter.sh writes from the host on every call anyway: etc/bazel-host.bazelrc (it may
# name the remote cache URL) and the pip configuration (it may carry index credentials). Nothing secret goes into a
# cache that pull requests can restore.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$here/lib.sh"

die() { printf 'archive.sh: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: archive.sh key | save FILE | restore FILE | save-repo-cache FILE | restore-repo-cache FILE"; }
need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root (run it through sudo): the trees it handles belong to root."; }

compress() { if command -v zstd >/dev/null; then zstd -T0 -3 -q; else gzip -1; fi; }
decompress() { # decompress FILE: to stdout, by the file's magic number
  case $(od -An -tx1 -N4 "$1" | tr -d ' \n') in
    28b52ffd) zstd -d -q -c <"$1" ;;
    1f8b*) gzip -d -c <"$1" ;;
    *) die "$1 is neither a zstd nor a gzip file" ;;
  esac
}

# save: tar -C DIR ENTRY (plus tar options) into FILE, then FILE to the sudo caller.
write_archive() { # write_archive FILE DIR ENTRY [tar options...]
  local file=$1 dir=$2 entry=$3
  shift 3
  mkdir -p "$(dirname "$file")"
  # --one-file-system: never follow a mount into the tree (the namespace holder's binds are private, but still).
  tar -C "$dir" --create --numeric-owner --one-file-system "$@" "$entry" | compress >"$file.partial" ||
    die "could not write $file"
  mv "$file.partial" "$file"
  [ -z "${SUDO_UID:-}" ] || chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$file"
  printf 'archive.sh: %s -> %s (%s)\n' "$dir/$entry" "$file" "$(du -h "$file" | cut -f1)" >&2
}

# The first member of archive FILE: its top directory, as write_archive stored it.
top_entry() { # top_entry FILE
  local first
  first=$({ decompress "$1" | tar -t 2>/dev/null | head -n1; } || true)
  printf '%s\n' "${first%%/*}"
}

# restore: only ENTRY's subtree of FILE into DIR, as root: owners, modes and device nodes as stored.
read_archive() { # read_archive FILE DIR ENTRY [tar options...]
  local file=$1 dir=$2 entry=$3
  shift 3
  decompress "$file" | tar -C "$dir" --extract --numeric-owner --same-owner --same-permissions "$@" "$entry" ||
    die "could not extract $entry from $file"
}

[ $# -ge 1 ] || usage
cache=$(sysroot_cache_dir)
case $1 in
  key)
    [ $# -eq 1 ] || usage
    sysroot_definition_hash "$here"
    ;;

  save)
    [ $# -eq 2 ] || usage
    need_root save
    name=sysroot-$(sysroot_definition_hash "$here")
    [ -f "$cache/$name/.sysroot-complete" ] || die "no complete sysroot at $cache/$name to save"
    excluded=()
    for path in dev/\* proc/\* sys/\* tmp/\* root/.cache etc/bazel-host.bazelrc etc/pip.conf etc/xdg/pip \
      root/.config/pip root/.pip; do
      excluded+=("--exclude=$name/$path")
    done
    write_archive "$2" "$cache" "$name" --anchored "${excluded[@]}"
    ;;

  restore)
    [ $# -eq 2 ] || usage
    need_root restore
    [ -f "$2" ] || die "$2 does not exist"
    hash=$(sysroot_definition_hash "$here")
    name=sysroot-$hash
    found=$(top_entry "$2")
    [ "$found" = "$name" ] || die "$2 holds '$found', not $name (the definition in $here): refusing to restore it"
    if [ -f "$cache/$name/.sysroot-complete" ]; then
      echo "archive.sh: $cache/$name is already in place; nothing restored" >&2
      exit 0
    fi
    mkdir -p "$cache"
    # Into a scratch directory first, renamed into place only when complete (as ensure_sysroot does).
    tmp=$(mktemp -d "$cache/.restoring-XXXXXX")
    trap 'rm -rf --one-file-system "$tmp"' EXIT
    read_archive "$2" "$tmp" "$name"
    [ "$(cat "$tmp/$name/.sysroot-complete" 2>/dev/null)" = "$hash" ] ||
      die "$2 has no completion stamp for $hash: refusing to use it"
    rm -rf --one-file-system "${cache:?}/$name"
    mv "$tmp/$name" "$cache/$name"
    echo "archive.sh: restored $cache/$name" >&2
    ;;

  save-repo-cache)
    [ $# -eq 2 ] || usage
    need_root save-repo-cache
    [ -d "$cache/repository-cache" ] || die "no repository cache at $cache/repository-cache to save"
    write_archive "$2" "$cache" repository-cache
    ;;

  restore-repo-cache)
    [ $# -eq 2 ] || usage
    need_root restore-repo-cache
    [ -f "$2" ] || die "$2 does not exist"
    found=$(top_entry "$2")
    [ "$found" = repository-cache ] || die "$2 holds '$found', not repository-cache: refusing to restore it"
    mkdir -p "$cache"
    # Content-addressed: what is already there is the same bytes, so existing files are kept as they are.
    read_archive "$2" "$cache" repository-cache --skip-old-files
    echo "archive.sh: restored $cache/repository-cache" >&2
    ;;

  *) usage ;;
esac
