"""Code-only change -> rebuild + push: time and bytes uploaded, against Debian's docker-registry on loopback.

    tools/bazel run //bench:build_change

Pushes the current image, appends a comment to lambdas/analysis/__init__.py (restored afterwards, whatever
happens), rebuilds //lambdas/analysis:image with Bazel and pushes again, and counts the blobs and bytes the
registry received the second time. Goal: < 20 s and < 1 MB.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from tools.oci.local_registry import LocalRegistry

WORKSPACE = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", Path(__file__).resolve().parents[1]))
CHANGED = WORKSPACE / "lambdas/analysis/__init__.py"
IMAGE = WORKSPACE / "bazel-bin/lambdas/analysis/image"
PUSH = WORKSPACE / "tools/oci/push.py"


def bazel_build() -> float:
    root = os.environ.get("TOOLS_BAZEL_OUTPUT_USER_ROOT")
    if not root:
        sys.exit("bench: run me through tools/bazel (TOOLS_BAZEL_OUTPUT_USER_ROOT is not set)")
    started = time.monotonic()
    subprocess.run(["bazel", f"--output_user_root={root}", "build", "//lambdas/analysis:image"], cwd=WORKSPACE,
                   check=True, capture_output=True)
    return time.monotonic() - started


def push(repository: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, str(PUSH), "--image", str(IMAGE), "--repository", repository], check=True,
                   capture_output=True)
    return time.monotonic() - started


def main() -> None:
    original = CHANGED.read_bytes()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp, LocalRegistry(Path(tmp)) as registry:
        repository = f"{registry.host}/analysis-lambda"
        bazel_build()
        push(repository)
        before = registry.blob_digests()
        try:
            CHANGED.write_bytes(original + f"# bench build_change {time.time_ns()}\n".encode())
            build_s = bazel_build()
            push_s = push(repository)
        finally:
            CHANGED.write_bytes(original)
        uploaded = {d: size for d, size in registry.blob_digests().items() if d not in before}
    bazel_build()  # leave bazel-bin as the source tree says
    results = {"rebuild_s": round(build_s, 2), "push_s": round(push_s, 2), "total_s": round(build_s + push_s, 2),
               "blobs_uploaded": len(uploaded), "bytes_uploaded": sum(uploaded.values())}
    section = "\n".join([
        "Command: `tools/bazel run //bench:build_change` (a comment appended to lambdas/analysis/__init__.py).", "",
        "| code-only change | measured | goal |", "| --- | --- | --- |",
        f"| rebuild (`bazel build //lambdas/analysis:image`) | {build_s:.1f} s | |",
        f"| push to a registry holding the previous image | {push_s:.1f} s | |",
        f"| **rebuild + push** | **{build_s + push_s:.1f} s** | < 20 s |",
        f"| uploaded | {len(uploaded)} blobs (app layer, config, manifest), {sum(uploaded.values()):,} bytes | < 1 MB |",
    ])
    print(section)
    report.write(WORKSPACE, "build_change", "Build: code-only change", section, results)


if __name__ == "__main__":
    main()
