"""tools/bazel stops early, in one sentence, when pip cannot see the locked CPU torch; asks pip once per config."""

import subprocess
from pathlib import Path

import pytest

PREFLIGHT = Path(__file__).resolve().parents[1] / "preflight.sh"
LIB = PREFLIGHT.with_name("lib.sh")
LOCK = "torch==2.13.0+cpu \\\n    --hash=sha256:00\n"


def check(tmp_path: Path, versions: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    """Runs torch_problem against a fake host pip listing VERSIONS; returns (problem, pip calls so far)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls"
    (bin_dir / "python3").write_text(
        "#!/bin/sh\n"
        '[ "$3" = "--version" ] && exit 0\n'
        f'echo call >>"{calls}"\n'
        f"echo 'torch (2.15.0)'\necho 'Available versions: {versions}'\n"
    )
    (bin_dir / "python3").chmod(0o755)
    (tmp_path / "lock.txt").write_text(LOCK)
    script = f'. "{LIB}"; . "{PREFLIGHT}"; torch_problem "{tmp_path}/lock.txt" "{tmp_path}/stamps"'
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), **(env or {})}
    result = subprocess.run(["bash", "-c", script], env=environment, capture_output=True, text=True, check=True)
    return result.stdout.strip(), len(calls.read_text().splitlines()) if calls.exists() else 0


def test_plain_pypi_torch_only_is_one_clear_sentence(tmp_path: Path):
    problem, _ = check(tmp_path, "2.15.0, 2.14.1, 2.13.0, 2.12.0")
    assert problem.startswith("the locked torch==2.13.0+cpu (CPU build) cannot be found")
    assert "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu" in problem
    assert "\n" not in problem


def test_cpu_index_configured_passes_and_is_asked_once(tmp_path: Path):
    assert check(tmp_path, "2.15.0, 2.13.0+cpu, 2.13.0") == ("", 1)
    assert check(tmp_path, "2.15.0, 2.13.0+cpu, 2.13.0") == ("", 1)


@pytest.mark.parametrize("variable", ["PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"])
def test_a_changed_pip_configuration_is_asked_again(tmp_path: Path, variable: str):
    check(tmp_path, "2.13.0+cpu")
    assert check(tmp_path, "2.13.0+cpu", env={variable: "https://elsewhere.example/"}) == ("", 2)
