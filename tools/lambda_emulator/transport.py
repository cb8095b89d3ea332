"""HTTP for the emulator: the threaded server, request bodies and replies, and routing to the api_*.py handlers."""

from __future__ import annotations

import logging
import re
import select
import socket
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from . import api_init_error, api_invoke, api_next, api_response
from .wire import error_doc, json_bytes

if TYPE_CHECKING:
    from .emulator import LambdaEmulator

logger = logging.getLogger("tools.lambda_emulator")

RUNTIME_API_VERSION = "2018-06-01"

_NEXT_PATH = f"/{RUNTIME_API_VERSION}/runtime/invocation/next"
_INIT_ERROR_PATH = f"/{RUNTIME_API_VERSION}/runtime/init/error"
_INVOCATION_RE = re.compile(rf"^/{RUNTIME_API_VERSION}/runtime/invocation/([^/]+)/(response|error)$")
_INVOKE_RE = re.compile(r"^/2015-03-31/functions/[^/]+/invocations$")  # any function name


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: LambdaEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime that is killed mid-connection resets it; that is routine here.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class Server6(Server):
    address_family = socket.AF_INET6


def make_server(emulator: LambdaEmulator, host: str, port: int) -> Server:
    server_cls = Server6 if ":" in host else Server
    server = server_cls((host, port), Handler)
    server.emulator = emulator
    return server


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lambda-emulator"
    server: Server

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        try:
            # Headers and body go out in separate writes: without this, Nagle plus delayed ACKs
            # add ~40 ms to every event delivery.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        logger.debug("%s " + format, self.address_string(), *args)

    # --- bodies and replies

    def read_body(self, limit: int) -> tuple[bytes | None, int]:
        """The request body, or (None, size) when it is larger than ``limit`` (it is still drained).

        Draining keeps the connection usable: a runtime that posted too much gets its 413 and
        can go on to /next on the same keep-alive connection.
        """
        chunks: list[bytes] = []
        total = 0
        keep = True

        def take(data: bytes) -> None:
            nonlocal total, keep
            total += len(data)
            if keep and total <= limit:
                chunks.append(data)
            else:
                keep = False
                chunks.clear()

        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    break
                try:
                    n = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    break
                if n == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                self._read_exactly(n, take)
                self.rfile.readline(65537)  # CRLF after each chunk
        else:
            try:
                remaining = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                remaining = 0
            self._read_exactly(max(remaining, 0), take)
        return (b"".join(chunks) if keep else None), total

    def _read_exactly(self, size: int, take: Callable[[bytes], None]) -> None:
        """Feed ``size`` body bytes to ``take``; a client that sends fewer loses its keep-alive."""
        remaining = size
        while remaining:
            data = self.rfile.read(min(remaining, 65536))
            if not data:
                self.close_connection = True
                break
            take(data)
            remaining -= len(data)

    def send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None, close: bool = False) -> bool:
        """False when the client is gone, so a caller can take back what it did not get."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            return True
        except OSError:
            self.close_connection = True
            return False

    def send_json(self, status: int, doc: Any, close: bool = False) -> bool:
        return self.send(status, json_bytes(doc), "application/json", close=close)

    def peer_closed(self) -> bool:
        """True when the client closed its side of the connection (a dead runtime's /next)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    # --- routing

    def do_GET(self) -> None:  # noqa: N802 - name fixed by http.server
        path = urlsplit(self.path).path
        if path == _NEXT_PATH:
            api_next.handle(self.server.emulator, self)
        else:
            self._not_found(path)

    def do_POST(self) -> None:  # noqa: N802
        emu = self.server.emulator
        path = urlsplit(self.path).path
        m = _INVOCATION_RE.match(path)
        if m:
            api_response.handle(emu, self, unquote(m.group(1)), m.group(2))
            return
        if path == _INIT_ERROR_PATH:
            api_init_error.handle(emu, self)
            return
        if _INVOKE_RE.match(path):
            api_invoke.handle(emu, self)
            return
        self._not_found(path)

    def _not_found(self, path: str) -> None:
        self.read_body(0)
        self.send_json(404, error_doc("NotFound", f"no such resource: {path}"))
