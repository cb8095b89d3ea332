#!/usr/bin/env bash
# The sysroot and Bazel's repository cache in and out of a CI cache, as one file each.
#
#   archive.sh key                       # cache key part for the sysroot: its definition hash (lib.sh)
#   archive.sh save FILE                 # (root) <cache>/sysroot-<hash> -> FILE
#   archive.sh restore FILE              # (root) FILE -> <cache>/sysroot-<hash>; refused unless FILE holds that <hash>
#   archive.sh save-bazel-caches FILE REPO     # (root) Bazel's caches for checkout REPO -> FILE
#   archive.sh restore-bazel-caches FILE REPO  # (root) FILE -> merged into them
#
# Bazel's caches: the repository cache (downloads), the disk cache (action and test results of --config=ci) and the
# output base's external/ (fetched repositories: rules_python installs every locked wheel in one, ~2 min on a new
# machine; Bazel reuses each only while its marker file matches its definition, and refetches it otherwise). The
# output base is <cache>/bazel-output/<md5 of REPO's path>, as Bazel names it, so REPO must be at the same path as
# when saved (a CI workspace is).
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
usage() { die "usage: archive.sh key | save FILE | restore FILE | save-bazel-caches FILE REPO | restore-bazel-caches FILE REPO"; }
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
write_archive() { # write_archive FILE DIR ENTRY [tar options or more entries...]
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

# Bazel's output base for checkout REPO, relative to the cache: tools/bazel's --output_user_root, then the MD5 of
# the workspace path (Bazel's own naming).
output_base_entry() { # output_base_entry REPO
  printf 'bazel-output/%s\n' "$(printf '%s' "$(cd "$1" && pwd -P)" | md5sum | cut -c1-32)"
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

  save-bazel-caches)
    [ $# -eq 3 ] || usage
    need_root save-bazel-caches
    entries=()
    for entry in repository-cache disk-cache "$(output_base_entry "$3")/external"; do
      [ ! -d "$cache/$entry" ] || entries+=("$entry")
    done
    # Bazel 7 collects a disk cache's garbage only while an idle server lives, which a CI server never is: one that
    # has grown past 2 GB is left out, and the next run starts it over.
    if [ -d "$cache/disk-cache" ] && [ "$(du -sm "$cache/disk-cache" | cut -f1)" -gt 2048 ]; then
      echo "archive.sh: the disk cache is over 2 GB: left out, so it starts over" >&2
      entries=("${entries[@]/disk-cache/}")
    fi
    [ ${#entries[@]} -gt 0 ] || die "no Bazel caches under $cache to save"
    # shellcheck disable=SC2068 # an entry emptied above must vanish, not become ""
    write_archive "$2" "$cache" ${entries[@]}
    ;;

  restore-bazel-caches)
    [ $# -eq 3 ] || usage
    need_root restore-bazel-caches
    [ -f "$2" ] || die "$2 does not exist"
    allowed="^(repository-cache|disk-cache|$(output_base_entry "$3")/external)(/|$)"
    while IFS= read -r member; do
      [[ $member =~ $allowed ]] || die "$2 holds $member, outside Bazel's caches for $3: refusing to restore it"
    done < <(decompress "$2" | tar -t)
    mkdir -p "$cache"
    # Content-addressed or marker-checked: what is already there stays as it is.
    decompress "$2" | tar -C "$cache" --extract --numeric-owner --same-owner --same-permissions --skip-old-files ||
      die "could not extract $2"
    echo "archive.sh: restored Bazel's caches for $3 into $cache" >&2
    ;;

  *) usage ;;
esac
