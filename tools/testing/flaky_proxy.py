"""HTTP proxy in front of moto that injects AWS faults and records every request with the status it got.

moto has no fault injection that works through its server for DynamoDB
throttling, so this small forwarding proxy sits between the boto3 client and
moto (point ``AWS_ENDPOINT_URL_DYNAMODB`` / ``_S3`` at it). Rules match a
request (method, path, headers, body), either for the first N matches or
forever, and do one of:

* ``error`` (add_rule): answer with a canned error instead of forwarding;
* ``truncate`` (add_truncation): forward, then send the response's headers
  with its full Content-Length but only part of its body, and close the
  connection (a download cut short, as a dropped connection leaves it);
* ``delay`` (add_delay): hold the request, then forward it (what the client
  does meanwhile, e.g. die, does not stop it from landing).

Everything else is forwarded unchanged (the Host header is kept; moto does
not check SigV4). ``seen`` records each request once it is answered, with the
status the upstream gave (None when it was not forwarded), so a caller can
count e.g. the successful conditional writes per key.

Only listens on 127.0.0.1 and only forwards to the given upstream.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
    fault: str = ""  # the kind of the rule that took it ("error", "truncate", "delay"), "" when none did
    status: int | None = None  # what the upstream answered; None when it was not forwarded (an injected error)


@dataclass
class Rule:
    match: Callable[[SeenRequest], bool]
    status: int = 0
    body: bytes = b""
    content_type: str = "application/x-amz-json-1.0"
    times: int | None = None  # None = forever
    hits: int = 0
    kind: str = "error"  # "error": answer status/body; "truncate": forward, cut the body; "delay": forward late
    keep: float = 0.0  # truncate: the fraction of the body sent
    delay_s: float = 0.0  # delay: how long the request is held

    def take(self, request: SeenRequest) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if not self.match(request):
            return False
        self.hits += 1
        return True


def s3_error(code: str, status: int, message: str = "injected by flaky_proxy") -> tuple[int, bytes]:
    """(status, body) of an S3 REST-XML error (content type application/xml)."""
    return status, f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()


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
        return self._add(Rule(match=match, status=status, body=body, times=times, content_type=content_type))

    def add_truncation(self, match: Callable[[SeenRequest], bool], keep: float = 0.5,
                       times: int | None = None) -> Rule:
        """Forward, then send only KEEP (a fraction, 0 <= keep < 1) of the body under the full Content-Length."""
        if not 0 <= keep < 1:
            raise ValueError(f"keep must be in [0, 1): {keep}")
        return self._add(Rule(match=match, times=times, kind="truncate", keep=keep))

    def add_delay(self, match: Callable[[SeenRequest], bool], seconds: float, times: int | None = None) -> Rule:
        """Hold the request SECONDS, then forward it."""
        return self._add(Rule(match=match, times=times, kind="delay", delay_s=seconds))

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.seen.clear()

    def clear_rules(self) -> None:
        """No more faults from now on; what was seen stays."""
        with self._lock:
            self.rules.clear()

    def count(self, predicate: Callable[[SeenRequest], bool]) -> int:
        with self._lock:
            return sum(1 for r in self.seen if predicate(r))

    def _decide(self, request: SeenRequest) -> Rule | None:
        with self._lock:
            return next((rule for rule in self.rules if rule.take(request)), None)

    def _record(self, request: SeenRequest, rule: Rule | None, status: int | None) -> None:
        with self._lock:
            self.seen.append(replace(request, injected=rule is not None, fault=rule.kind if rule else "",
                                     status=status))

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
                if rule is not None and rule.kind == "error":
                    proxy._record(request, rule, None)
                    self.send_response(rule.status)
                    self.send_header("Content-Type", rule.content_type)
                    self.send_header("Content-Length", str(len(rule.body)))
                    self.send_header("x-amzn-RequestId", "flaky-proxy")
                    self.end_headers()
                    self.wfile.write(rule.body)
                    return
                if rule is not None and rule.kind == "delay":
                    time.sleep(rule.delay_s)
                conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                # Recorded before answering: the upstream has acted on it whether or not the client hears back.
                proxy._record(request, rule, resp.status)
                try:
                    self._answer(resp, data, rule)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away (e.g. killed while its request was held)

            def _answer(self, resp: http.client.HTTPResponse, data: bytes, rule: Rule | None) -> None:
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if rule is not None and rule.kind == "truncate":
                    self.wfile.write(data[:int(len(data) * rule.keep)])
                    self.wfile.flush()
                    self.close_connection = True  # the client sees the stream end short of Content-Length
                    return
                self.wfile.write(data)

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
