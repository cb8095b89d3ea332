# shellcheck shell=bash
# Where the build takes Debian packages from. Sourced by tools/bazel and its tests, never run.
#
# The pins (packages.txt here, tools/debian/packages.lock.json for the image) name exact versions; what may vary is
# only the server. In order of preference:
#   1. TOOLS_BAZEL_DEBIAN_MIRROR / TOOLS_BAZEL_DEBIAN_SECURITY_MIRROR: the user's explicit choice;
#   2. the host's own Debian mirror (its apt sources), when it serves the pinned versions;
#   3. the public snapshot archive at the timestamp recorded next to the pins (debian-snapshot.txt).
# Release signatures are verified whichever is used; the image's .debs are also checked by SHA-256.

# For tests: where apt's configuration and the snapshot archive are.
: "${TOOLS_BAZEL_APT_DIR:=/etc/apt}"
: "${TOOLS_BAZEL_SNAPSHOT_URL:=https://snapshot.debian.org/archive}"
: "${TOOLS_BAZEL_DEBIAN_MIRROR:=}" "${TOOLS_BAZEL_DEBIAN_SECURITY_MIRROR:=}"

# The host's apt source URIs (deb822 .sources and one-line .list files) whose path ends in /ARCHIVE, in order.
host_archive_urls() { # host_archive_urls ARCHIVE
  local archive=$1 dir=$TOOLS_BAZEL_APT_DIR
  {
    cat "$dir"/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr -s '[:blank:]' '\n'
    cat "$dir"/sources.list "$dir"/sources.list.d/*.list 2>/dev/null |
      sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]\+\).*/\2/p'
  } | sed 's#/*$##' | grep -E "^[a-z+]+://.*/${archive}\$" | awk '!seen[$0]++' || true
}

# Lines of a snapshot record (debian-snapshot.txt) of one KIND and ARCHIVE, without those two fields.
recorded() { # recorded FILE KIND ARCHIVE
  sed 's/#.*//' "$1" | awk -v kind="$2" -v archive="$3" \
    '$1 == kind && $2 == archive { $1 = ""; $2 = ""; sub(/^ +/, ""); print }'
}

# The Date: of URL/dists/SUITE/Release, empty when it cannot be read.
release_date() { # release_date URL SUITE
  curl -fsSL --max-time 20 "$1/dists/$2/Release" 2>/dev/null | sed -n 's/^Date:[[:space:]]*//p' | head -n1
}

# True when every suite recorded for ARCHIVE has, at URL, a Release with exactly the recorded Date: the same
# publication, so the same versions.
serves_recorded_state() { # serves_recorded_state URL FILE ARCHIVE
  local url=$1 file=$2 archive=$3 suite date found=0
  while read -r suite date; do
    [ "$(release_date "$url" "$suite")" = "$date" ] || return 1
    found=1
  done < <(recorded "$file" suite "$archive")
  [ "$found" = 1 ]
}

# The user's explicit mirror for ARCHIVE, without a trailing slash; empty when none is set.
archive_override() { # archive_override ARCHIVE
  case $1 in
    debian) printf '%s\n' "${TOOLS_BAZEL_DEBIAN_MIRROR%/}" ;;
    debian-security) printf '%s\n' "${TOOLS_BAZEL_DEBIAN_SECURITY_MIRROR%/}" ;;
    *) echo "debian_sources: unknown archive $1" >&2; return 1 ;;
  esac
}

# The base URL to take ARCHIVE (debian, debian-security) from, for the state recorded in FILE.
archive_url() { # archive_url FILE ARCHIVE
  local file=$1 archive=$2 override url stamp
  override=$(archive_override "$archive") || return 1
  if [ -n "$override" ]; then printf '%s\n' "$override"; return 0; fi
  for url in $(host_archive_urls "$archive"); do
    if serves_recorded_state "$url" "$file" "$archive"; then printf '%s\n' "$url"; return 0; fi
  done
  stamp=$(recorded "$file" snapshot "$archive")
  [ -n "$stamp" ] || { echo "debian_sources: $file records no snapshot for $archive" >&2; return 1; }
  printf '%s/%s/%s\n' "${TOOLS_BAZEL_SNAPSHOT_URL%/}" "$archive" "$stamp"
}

# Mirrors for per-file downloads checked by SHA-256 (the image's .debs), as "archive=URL" words in order of
# preference: the overrides, then every host mirror of each archive. The snapshot archive comes after these, from
# the lock itself. A mirror that lacks a file only costs a 404 before the next is tried.
download_mirrors() {
  local archive override url
  for archive in debian debian-security; do
    override=$(archive_override "$archive")
    [ -z "$override" ] || printf '%s=%s\n' "$archive" "$override"
    for url in $(host_archive_urls "$archive"); do printf '%s=%s\n' "$archive" "$url"; done
  done | awk '!seen[$0]++' | paste -sd' ' -
}
