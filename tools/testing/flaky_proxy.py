"""HTTP proxy in front of moto that injects AWS errors and counts requests.

moto has no fault injection that works through its server for DynamoDB
throttling, so this small forwarding proxy sits between the boto3 client and
moto (point ``AWS_ENDPOINT_URL_DYNAMODB`` / ``_S3`` at it). Rules match a
request (method, path, headers, body) and answer with a canned error instead
of forwarding, either for the first N matches or forever. Everything else is
forwarded unchanged (the Host header is kept; moto does not check SigV4).

Only listens on 127.0.0.1 and only forwards to the given upstream.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailers", "transfer-encoding", "upgrade", "content-length"}


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    target: str  # X-Amz-Target header (JSON protocols), "" otherwise
    body: bytes
    injected: bool


@dataclass
class Rule:
    match: Callable[[SeenRequest], bool]
    status: int
    body: bytes
    content_type: str = "application/x-amz-json-1.0"
    times: int | None = None  # None = forever
    hits: int = 0

    def take(self, request: SeenRequest) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if not self.match(request):
            return False
        self.hits += 1
        return True


def dynamodb_error(code: str, message: str = "injected by flaky_proxy", status: int = 400) -> tuple[int, bytes]:
    """(status, body) of a DynamoDB JSON-protocol error."""
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message})
    return status, body.encode()


def target_is(operation: str, body_contains: str | None = None) -> Callable[[SeenRequest], bool]:
    """Match a JSON-protocol operation, e.g. 'DynamoDB_20120810.UpdateItem'."""
    def _match(req: SeenRequest) -> bool:
        if not req.target.endswith(operation):
            return False
        return body_contains is None or body_contains.encode() in req.body
    return _match


@dataclass
class FlakyProxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    seen: list[SeenRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "call start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_rule(self, match: Callable[[SeenRequest], bool], status: int, body: bytes,
                 times: int | None = None, content_type: str = "application/x-amz-json-1.0") -> Rule:
        rule = Rule(match=match, status=status, body=body, times=times, content_type=content_type)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.seen.clear()

    def count(self, predicate: Callable[[SeenRequest], bool]) -> int:
        with self._lock:
            return sum(1 for r in self.seen if predicate(r))

    def _decide(self, request: SeenRequest) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.take(request):
                    self.seen.append(SeenRequest(request.method, request.path, request.target,
                                                 request.body, True))
                    return rule
            self.seen.append(request)
            return None

    def start(self) -> FlakyProxy:
        proxy = self
        upstream = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = SeenRequest(self.command, self.path, self.headers.get("X-Amz-Target", ""),
                                      body, False)
                rule = proxy._decide(request)
                if rule is not None:
                    self.send_response(rule.status)
                    self.send_header("Content-Type", rule.content_type)
                    self.send_header("Content-Length", str(len(rule.body)))
                    self.send_header("x-amzn-RequestId", "flaky-proxy")
                    self.end_headers()
                    self.wfile.write(rule.body)
                    return
                conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status, resp.reason)
                    for key, value in resp.getheaders():
                        if key.lower() not in _HOP_BY_HOP:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="flaky-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FlakyProxy:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
