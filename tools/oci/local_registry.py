"""Debian's docker-registry (the CNCF distribution registry) on a loopback port, for tests and the local runner.

    with LocalRegistry(workdir) as registry:
        registry.host          # "127.0.0.1:PORT"
        registry.blob_digests()  # what the registry stores, straight from its storage directory
"""

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalRegistry:
    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.storage = self.workdir / "storage"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "LocalRegistry":
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
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(self.workdir / 'registry.log').read_text()}")
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("docker-registry did not answer on /v2/ within 20 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def blob_digests(self) -> dict[str, int]:
        """sha256:<hex> -> size of every blob (layers, configs and manifests) the registry stores."""
        root = self.storage / "docker/registry/v2/blobs/sha256"
        if not root.exists():
            return {}
        return {f"sha256:{data.parent.name}": data.stat().st_size for data in root.glob("*/*/data")}
