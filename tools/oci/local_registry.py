"""Debian's docker-registry (the CNCF distribution registry) on a loopback port, for tests and the local runner.

    with LocalRegistry(workdir) as registry:
        registry.host          # "127.0.0.1:PORT"
        registry.blob_digests()  # what the registry stores, straight from its storage directory
"""

import subprocess
import time
import urllib.request
from pathlib import Path

from tools.loopback import free_port


class LocalRegistry:
    def __init__(self, workdir: Path, port: int | None = None, ready_timeout: float = 20):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.storage = self.workdir / "storage"
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None
        self.log = None

    def __enter__(self) -> "LocalRegistry":
        # Nothing outlives a failed start: whatever went wrong, the process (and its log) are stopped before the
        # error reaches the caller, who never gets an object to call __exit__ on.
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n"
            f"http:\n  addr: {self.host}\n"
        )
        self.log = open(self.workdir / "registry.log", "wb")
        self.process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(self.workdir / 'registry.log').read_text()}")
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"docker-registry did not answer on http://{self.host}/v2/ within {self.ready_timeout:g} s")

    def __exit__(self, *exc) -> None:
        try:
            if self.process and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            if self.log is not None:
                self.log.close()

    def blob_digests(self) -> dict[str, int]:
        """sha256:<hex> -> size of every blob (layers, configs and manifests) the registry stores."""
        root = self.storage / "docker/registry/v2/blobs/sha256"
        if not root.exists():
            return {}
        return {f"sha256:{data.parent.name}": data.stat().st_size for data in root.glob("*/*/data")}
