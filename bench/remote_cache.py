"""Remote cache, proven here: nginx as a WebDAV HTTP cache on loopback, two clean builds of //... against it.

    tools/bazel run //bench:remote_cache

1. cold: a fresh output base builds //... with an empty cache, uploading every result;
2. warm: another fresh output base builds //... again: every cacheable action should be a remote cache hit.
External repositories (the locked wheels installed by rules_python, the Debian packages) are fetched into each
output base first (`bazel fetch`, from the shared repository cache): a remote cache holds action results, not
repositories, so that time is reported apart. Goal: warm clean build of the image < 90 s, >= 95 % hits.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import report
from bench.bazel_processes import process_counts
from tools.loopback import free_port

WORKSPACE = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", Path(__file__).resolve().parents[1]))
# "INFO: 812 processes: 390 remote cache hit, 420 internal, 2 processwrapper-sandbox."


def nginx_webdav(root: Path, port: int) -> subprocess.Popen:
    (root / "data").mkdir(parents=True)
    (root / "nginx.conf").write_text(f"""
daemon off;
# Workers would otherwise drop to www-data and could not write the cache directory we created.
user root;
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      root {root}/data;
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:rw all:r;
    }}
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(root / "nginx.conf"), "-p", str(root)])
    time.sleep(0.5)
    if proc.poll() is not None:
        raise SystemExit(f"bench: nginx failed: {(root / 'error.log').read_text()}")
    # A cache that silently refuses writes would make every build a "cold" one: check a PUT lands.
    probe = urllib.request.Request(f"http://127.0.0.1:{port}/cas/probe", data=b"probe", method="PUT")
    with urllib.request.urlopen(probe, timeout=5) as response:
        if response.status not in (200, 201, 204):
            raise SystemExit(f"bench: nginx refused a PUT ({response.status})")
    return proc


def bazel(output_base: Path, *args: str) -> tuple[float, str]:
    root = os.environ.get("TOOLS_BAZEL_OUTPUT_USER_ROOT")
    if not root:
        sys.exit("bench: run me through tools/bazel (TOOLS_BAZEL_OUTPUT_USER_ROOT is not set)")
    started = time.monotonic()
    result = subprocess.run(["bazel", f"--output_user_root={root}", f"--output_base={output_base}", *args],
                            cwd=WORKSPACE, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench: bazel {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return time.monotonic() - started, result.stderr


def hits(log: str) -> dict:
    found = process_counts(log)
    if found is None:
        return {"processes": 0}
    total, counts, detail = found
    remote = counts.get("remote cache hit", 0)
    cacheable = total - counts.get("internal", 0)
    return {"processes": total, "remote_cache_hits": remote, "cacheable": cacheable,
            "hit_percent": round(100 * remote / cacheable, 1) if cacheable else None, "detail": detail}


def one_build(name: str, cache_url: str, scratch: Path) -> dict:
    output_base = scratch / name
    try:
        fetch_s, _ = bazel(output_base, "fetch", "//...")
        flags = [f"--remote_cache={cache_url}", "--remote_upload_local_results"]
        image_s, image_log = bazel(output_base, "build", "//lambdas/analysis:image", *flags)
        all_s, all_log = bazel(output_base, "build", "//...", *flags)
        return {"fetch_s": round(fetch_s, 1), "image_build_s": round(image_s, 1), "rest_build_s": round(all_s, 1),
                "image": hits(image_log), "rest": hits(all_log)}
    finally:
        # clean --expunge also stops that server and deletes the read-only trees Bazel leaves behind.
        subprocess.run(["bazel", f"--output_user_root={os.environ['TOOLS_BAZEL_OUTPUT_USER_ROOT']}",
                        f"--output_base={output_base}", "clean", "--expunge"], cwd=WORKSPACE, capture_output=True)
        shutil.rmtree(output_base, ignore_errors=True)


def main() -> None:
    root = Path(os.environ.get("TOOLS_BAZEL_OUTPUT_USER_ROOT", tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix="bench-remote-cache-", dir=root) as tmp:
        scratch = Path(tmp)
        port = free_port()
        nginx = nginx_webdav(scratch / "nginx", port)
        try:
            url = f"http://127.0.0.1:{port}"
            print("bench: cold build (empty cache)", file=sys.stderr)
            cold = one_build("cold", url, scratch)
            print("bench: warm-cache clean build", file=sys.stderr)
            warm = one_build("warm", url, scratch)
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    results = {"cold": cold, "warm": warm}
    section = "\n".join([
        "Command: `tools/bazel run //bench:remote_cache`: nginx (WebDAV PUT) on loopback as Bazel's HTTP cache; two",
        "fresh output bases build `//lambdas/analysis:image`, then the rest of `//...`, against it.", "",
        "| | cold (empty cache) | warm cache, clean output base | goal |", "| --- | --- | --- | --- |",
        f"| `bazel fetch //...` (repositories; not cacheable remotely) | {cold['fetch_s']} s | {warm['fetch_s']} s | |",
        f"| build of the image | {cold['image_build_s']} s | **{warm['image_build_s']} s** | < 90 s |",
        f"| build of the rest of `//...` | {cold['rest_build_s']} s | {warm['rest_build_s']} s | |",
        f"| remote cache hits, image build | {cold['image'].get('remote_cache_hits')} of "
        f"{cold['image'].get('cacheable')} | **{warm['image'].get('remote_cache_hits')} of "
        f"{warm['image'].get('cacheable')} ({warm['image'].get('hit_percent')} %)** | ≥ 95 % |",
        f"| remote cache hits, rest of `//...` | {cold['rest'].get('remote_cache_hits')} of {cold['rest'].get('cacheable')} "
        f"| {warm['rest'].get('remote_cache_hits')} of {warm['rest'].get('cacheable')} ({warm['rest'].get('hit_percent')} %) | |",
        "", f"Process summary of the warm image build: {warm['image'].get('detail')}.",
    ])
    print(section)
    report.write(WORKSPACE, "remote_cache", "Remote cache (CI)", section, results)


if __name__ == "__main__":
    main()
