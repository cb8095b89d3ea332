#!/usr/bin/env bash
# Builds the Bazel sysroot into an empty directory: a minimal Debian testing ("forky") root with
# bazel-bootstrap, Debian's Bazel module packages, python3.11 from bookworm and the image tools.
#
#   bootstrap.sh TARGET_DIR MIRROR_URL
#
# Called by tools/bazel (never by hand) inside a private mount namespace, as root; TARGET_DIR is a
# temporary directory that tools/bazel renames into place only when this script succeeds.
set -euo pipefail

target=$1
mirror=${2%/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
start=$SECONDS

say() { printf '[sysroot %3ds] %s\n' "$((SECONDS - start))" "$*" >&2; }

# The mirror serves a frozen snapshot whose Release files are past their Valid-Until date.
apt_opts=(-o Acquire::Check-Valid-Until=false -o APT::Install-Recommends=false -o Dpkg::Use-Pty=0)

say "debootstrap forky (minbase) from the configured Debian mirror"
debootstrap_script=/usr/share/debootstrap/scripts/forky
[ -e "$debootstrap_script" ] || debootstrap_script=/usr/share/debootstrap/scripts/sid
debootstrap --variant=minbase --include=ca-certificates forky "$target" "$mirror" "$debootstrap_script" 2>&1 |
  while IFS= read -r line; do
    case "$line" in I:\ Retrieving*|I:\ Validating*) ;; I:*) say "${line#I: }" ;; W:*|E:*) say "$line" ;; esac
  done

say "apt sources: forky, plus bookworm pinned low for python3.11"
cat >"$target/etc/apt/sources.list" <<EOF
deb $mirror forky main
deb $mirror bookworm main
EOF
cat >"$target/etc/apt/preferences.d/bookworm-low" <<'EOF'
Package: *
Pin: release n=bookworm
Pin-Priority: 100
EOF
printf 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n' >"$target/etc/apt/apt.conf.d/90sysroot"

mount -t proc proc "$target/proc"
trap 'umount "$target/proc" 2>/dev/null || true' EXIT

in_root() { chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

say "apt-get update"
in_root apt-get "${apt_opts[@]}" -q update >/dev/null

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$here/packages.txt")
say "installing ${#packages[@]} packages (about 2.3 GB)"
in_root apt-get "${apt_opts[@]}" -y install "${packages[@]}" 2>&1 |
  while IFS= read -r line; do
    case "$line" in Setting\ up*) say "${line%% (*}" ;; E:*|W:*) say "$line" ;; esac
  done
[ "${PIPESTATUS[0]}" -eq 0 ] || { say "apt-get install failed"; exit 1; }
in_root apt-get clean

say "stub modules and offline bazelrc"
mkdir -p "$target/usr/share/bazel/stubs"
cp -r "$here/stubs/." "$target/usr/share/bazel/stubs/"
cp "$here/bazelrc" "$target/etc/bazel.bazelrc"

say "recording installed versions"
# shellcheck disable=SC2016 # ${Package} is dpkg-query's format, not a shell expansion.
in_root dpkg-query -W -f '${Package}=${Version}\n' >"$target/etc/sysroot-packages.txt"
say "done"
