# shellcheck shell=bash
# Checks tools/bazel makes before Bazel starts, so a missing input is one clear sentence instead of a stack trace
# from deep inside a repository rule. Sourced after lib.sh (pip_config_files), never run.

# The locked torch (a CPU build, `+cpu`) is not on PyPI: only the PyTorch CPU index serves it, and pip finds that
# index only through its configuration (pip.conf, PIP_* variables), which tools/bazel carries into the sysroot.
# Asks the host's pip (same configuration) once per configuration; prints the problem, or nothing when there is none.
torch_problem() { # torch_problem LOCK_FILE STAMP_DIR
  local lock=$1 stamp_dir=$2 wanted version key listing
  wanted=$(sed -n 's/^torch==\([^ \\]*\).*/\1/p' "$lock")
  [ -n "$wanted" ] || return 0
  # Without a host pip there is nothing to ask; pip inside the sysroot will say it itself.
  if ! python3 -m pip --version >/dev/null 2>&1; then return 0; fi
  local pip_files
  mapfile -t pip_files < <(pip_config_files)
  key=$({
    echo "$wanted"
    cat "${pip_files[@]}" 2>/dev/null
    env | grep '^PIP_' | sort
  } | sha256sum | cut -c1-16)
  [ ! -f "$stamp_dir/torch-$key" ] || return 0
  listing=$(python3 -m pip index versions torch --python-version 3.11 --only-binary=:all: \
    --platform manylinux_2_28_x86_64 2>/dev/null | sed -n 's/^Available versions: //p')
  for version in ${listing//,/ }; do
    if [ "$version" = "$wanted" ]; then
      mkdir -p "$stamp_dir" && : >"$stamp_dir/torch-$key"
      return 0
    fi
  done
  echo "the locked torch==$wanted (CPU build) cannot be found through your pip configuration: add the PyTorch CPU index, e.g. export PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu (see README.md, Prerequisites)."
}
