#!/usr/bin/env bash
# Builds the Bazel sysroot into a new directory: a minimal Debian testing ("forky") root with bazel-bootstrap,
# Debian's Bazel module packages, python3.11 from bookworm and the image tools, all at the versions in packages.txt.
#
#   bootstrap.sh TARGET_DIR MIRROR_URL
#
# Runs as root: the host's real root (or sudo), or the root of the user namespace tools/bazel makes for an
# unprivileged user, whose subordinate ids hold the sysroot's other users. Called by tools/bazel, never by hand;
# TARGET_DIR is renamed into place only when this script succeeds. mmdebstrap installs the whole list in one apt run
# and verifies the Release signatures with Debian's archive keyring.
set -euo pipefail

target=$1
mirror=${2%/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
start=$SECONDS

say() { printf '[sysroot %3ds] %s\n' "$((SECONDS - start))" "$*" >&2; }

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { say "missing $keyring (package debian-archive-keyring)"; exit 1; }

# Files get the snapshot's time, not the build's: two builds of one definition differ less.
snapshot=$(awk '$1 == "snapshot" && $2 == "debian" { print $3 }' "$here/debian-snapshot.txt")
SOURCE_DATE_EPOCH=$(date -u -d "$(sed -E 's/^(....)(..)(..)T(..)(..)(..)Z$/\1-\2-\3 \4:\5:\6/' <<<"$snapshot")" +%s)
export SOURCE_DATE_EPOCH

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$here/packages.txt")
say "mmdebstrap: forky minbase + ${#packages[@]} pinned packages from $mirror (about 2.3 GB)"

# Hook commands run in mmdebstrap's shell with $1 = the new root: single quotes on purpose.
# shellcheck disable=SC2016
# bookworm is there for python3.11 only: pinned low so nothing else is taken from it.
pin_bookworm_low='printf "Package: *\nPin: release n=bookworm\nPin-Priority: 100\n" >"$1/etc/apt/preferences.d/bookworm-low"'
# shellcheck disable=SC2016
record_versions='chroot "$1" dpkg-query -W -f "\${Package}=\${Version}\n" >"$1/etc/sysroot-packages.txt"'

# shellcheck disable=SC2016 # the mkdir hook, as above
# The snapshot archive and a frozen mirror serve Release files past their Valid-Until date; signatures still count.
mmdebstrap --mode=root --variant=minbase --keyring="$keyring" \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --aptopt='APT::Install-Recommends "false"' \
  --aptopt='Acquire::Retries "3"' \
  --include="ca-certificates,$(IFS=,; echo "${packages[*]}")" \
  --setup-hook="$pin_bookworm_low" \
  --customize-hook='mkdir -p "$1/usr/share/bazel/stubs"' \
  --customize-hook="sync-in $here/stubs /usr/share/bazel/stubs" \
  --customize-hook="upload $here/bazelrc /etc/bazel.bazelrc" \
  --customize-hook="$record_versions" \
  forky "$target" "deb $mirror forky main" "deb $mirror bookworm main" 2>&1 |
  while IFS= read -r line; do
    case "$line" in
      Setting\ up*) say "${line%% (*}" ;;
      I:\ *) say "${line#I: }" ;;
      E:*|W:*) say "$line" ;;
    esac
  done
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || { say "mmdebstrap failed (exit $status)"; exit 1; }
say "done"
