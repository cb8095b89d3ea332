# shellcheck shell=bash
# How tools/bazel gets the root it needs inside the sysroot (mounts, chroot, runc). Sourced, never run.
#
#   root    the caller is root.
#   userns  an unprivileged user namespace in which mounting works, with a subordinate id range (newuidmap) so the
#           sysroot's own users exist: the caller is root there, mmdebstrap builds the sysroot as that root, and runc
#           runs the image as uid 1000.
#   sudo    neither, but passwordless sudo works: tools/bazel runs itself again under sudo. This is the GitHub
#           ubuntu-24.04 runner: AppArmor lets a user namespace be created but denies mounting inside it, so a probe
#           of `unshare --user true` alone passes where the real work then fails.
#   none    no way: tools/bazel stops and says what would make one.

# True when, in a new user namespace, a mount succeeds (the thing the sysroot really needs).
userns_can_mount() {
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --user --map-root-user --mount --propagation private \
    sh -c 'd=$(mktemp -d) && mount -t tmpfs probe "$d" && umount "$d" && rmdir "$d"' >/dev/null 2>&1
}

# The caller's subordinate range in FILE (/etc/subuid, /etc/subgid) as "START COUNT", empty when it has none.
subid_range() { # subid_range FILE
  awk -F: -v name="$(id -un)" -v uid="$(id -u)" '($1 == name || $1 == uid) && $3 >= 65536 { print $2, $3; exit }' \
    "$1" 2>/dev/null || true
}

# Why the user-namespace route is closed, or nothing when it is open.
userns_blocker() {
  if ! userns_can_mount; then
    echo "mounting inside an unprivileged user namespace is not allowed"
  elif ! command -v newuidmap >/dev/null || ! command -v newgidmap >/dev/null; then
    echo "newuidmap/newgidmap are missing (package uidmap)"
  elif [ -z "$(subid_range /etc/subuid)" ] || [ -z "$(subid_range /etc/subgid)" ]; then
    echo "$(id -un) has no subordinate id range of 65536 in /etc/subuid and /etc/subgid (usermod --add-subuids/--add-subgids)"
  fi
}

privilege_mode() {
  if [ "$(id -u)" -eq 0 ]; then echo root
  elif [ -z "$(userns_blocker)" ]; then echo userns
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then echo sudo
  else echo none
  fi
}

# `unshare` arguments for a new namespace around the sysroot in MODE: for userns, the caller is root and the
# subordinate range holds uids 1..65536 (the same mapping builds the sysroot and enters it).
namespace_command() { # namespace_command MODE
  if [ "$1" = root ]; then
    printf '%s\n' unshare --mount --propagation private
    return
  fi
  local uid_start gid_start
  read -r uid_start _ <<<"$(subid_range /etc/subuid)"
  read -r gid_start _ <<<"$(subid_range /etc/subgid)"
  printf '%s\n' unshare --map-root-user --map-users="$uid_start,1,65536" --map-groups="$gid_start,1,65536" \
    --mount --propagation private
}

# The environment a build under sudo keeps: sudo resets it, and HOME becomes root's.
sudo_kept_environment() {
  local name
  for name in $(compgen -e); do
    case $name in
      AWS_*|PIP_*|TOOLS_BAZEL_*|BAZEL_REMOTE_CACHE_URL|BAZEL_REMOTE_EXECUTOR_URL|CI|GITHUB_ACTIONS|SSL_CERT_FILE|REQUESTS_CA_BUNDLE)
        printf '%s=%s\0' "$name" "${!name}" ;;
    esac
  done
  # The caller's cache (not root's), and who to give the files it leaves in the checkout back to.
  printf '%s\0' "TOOLS_BAZEL_SYSROOT_CACHE=$(sysroot_cache_dir)" "TOOLS_BAZEL_CALLER=$(id -u):$(id -g)" \
    "TOOLS_BAZEL_CALLER_HOME=$HOME"
}

# Gives what a root build left in the checkout (bazel-* links, the Terraform handoff file, .git's index) back to
# the caller that came through sudo.
return_checkout_to_caller() { # return_checkout_to_caller REPO
  [ -n "${TOOLS_BAZEL_CALLER:-}" ] || return 0
  find "$1" -xdev -uid 0 -exec chown -h "$TOOLS_BAZEL_CALLER" {} + 2>/dev/null || true
}
