"""A local emulator of the AWS Lambda Runtime API and of the RIE-style invoke endpoint.

One ``LambdaEmulator`` is one Lambda execution environment: one HTTP server that a runtime
(``awslambdaric`` or any custom runtime) polls for events, one invocation at a time, with
the function timeout enforced. It can start the runtime process itself ("managed" mode) or
leave that to the caller ("external" mode, e.g. a container started under runc), in which
case a restart hook is called whenever a fresh runtime is needed.

Only the standard library is used.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import re
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping, Optional, Sequence, Union
from urllib.parse import unquote, urlsplit

from .env import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_EXECUTION_ENV,
    DEFAULT_FUNCTION_VERSION,
    DEFAULT_REGION,
    function_arn as make_function_arn,
    lambda_env,
    merged_env,
    process_peak_rss_mb,
)

logger = logging.getLogger("tools.lambda_emulator")

RUNTIME_API_VERSION = "2018-06-01"
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous request and response limit

_NEXT_PATH = f"/{RUNTIME_API_VERSION}/runtime/invocation/next"
_INIT_ERROR_PATH = f"/{RUNTIME_API_VERSION}/runtime/init/error"
_INVOCATION_RE = re.compile(rf"^/{RUNTIME_API_VERSION}/runtime/invocation/([^/]+)/(response|error)$")
_INVOKE_RE = re.compile(r"^/2015-03-31/functions/[^/]+/invocations$")  # any function name

# How often a blocked /next re-checks that its connection is still open.
_NEXT_POLL_SECONDS = 0.25

OUTCOME_SUCCESS = "success"
OUTCOME_ERROR = "error"  # the runtime posted /invocation/{id}/error
OUTCOME_TIMEOUT = "timeout"  # function timeout passed after the event was delivered
OUTCOME_INIT_TIMEOUT = "init_timeout"  # no /next within init_timeout
OUTCOME_INIT_ERROR = "init_error"  # the runtime posted /init/error
OUTCOME_RUNTIME_EXIT = "runtime_exit"  # the runtime process ended before answering
OUTCOME_RESPONSE_TOO_LARGE = "response_too_large"

HookType = Callable[[str], None]


@dataclass
class InvocationRecord:
    """What happened to one invocation. Times are milliseconds."""

    request_id: str
    status: str  # one of the OUTCOME_* strings
    cold_start: bool  # the event went to (or waited for) a runtime that had not served one yet
    init_ms: Optional[float]  # runtime start -> its first /next; set on cold starts only
    duration_ms: Optional[float]  # event delivered -> response/error/timeout; None if never delivered
    billed_ms: Optional[int]  # ceil(duration_ms); a naive figure, not Lambda's billing
    total_ms: float  # the whole invoke, including any init wait
    error: Optional[dict]  # the error document returned to the invoker, None on success
    max_memory_mb: Optional[float]
    memory_size_mb: int
    runtime_pid: Optional[int]  # managed mode only
    response_bytes: int
    started_at: float  # epoch seconds when the invoke began
    report: str = ""  # the REPORT line that was logged

    @property
    def error_type(self) -> Optional[str]:
        return None if self.error is None else self.error.get("errorType")


@dataclass
class InvokeResult:
    """The answer to one invoke, as the invoke endpoint returns it."""

    request_id: str
    payload: bytes
    content_type: str
    function_error: Optional[str]  # "Unhandled" when the invocation failed
    record: InvocationRecord

    @property
    def ok(self) -> bool:
        return self.function_error is None

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


class EmulatorError(RuntimeError):
    """Misuse of the emulator (not started, payload too large, ...)."""


class PayloadTooLarge(EmulatorError):
    pass


@dataclass
class _Outcome:
    kind: str
    payload: bytes
    content_type: str = "application/json"
    error: Optional[dict] = None
    restart_reason: Optional[str] = None  # set when the runtime must be replaced afterwards


@dataclass
class _Invocation:
    request_id: str
    event: bytes
    content_type: str
    trace_id: str
    function_arn: str
    client_context: Optional[str]  # JSON text
    cognito_identity: Optional[str]  # JSON text
    delivered_mono: Optional[float] = None
    deadline_mono: Optional[float] = None
    deadline_epoch_ms: Optional[int] = None
    cold: bool = False
    init_ms: Optional[float] = None
    runtime_pid: Optional[int] = None
    respawn: bool = False  # its warm runtime died before taking it: start a fresh one and retry
    allow_respawn: bool = False
    outcome: Optional[_Outcome] = None
    finished_mono: Optional[float] = None

    def complete(self, outcome: _Outcome) -> bool:
        """Set the outcome once; later attempts are ignored (returns False)."""
        if self.outcome is not None:
            return False
        self.outcome = outcome
        self.finished_mono = time.monotonic()
        return True


def _error_doc(error_type: str, message: str) -> dict:
    return {"errorType": error_type, "errorMessage": message}


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def _new_trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _describe_returncode(code: Optional[int]) -> str:
    if code is None:
        return "unknown exit status"
    if code < 0:
        try:
            return f"signal: {signal.Signals(-code).name}"
        except ValueError:
            return f"signal: {-code}"
    return f"exit status {code}"


def _event_bytes(event: Any) -> bytes:
    if event is None:
        return b"{}"
    if isinstance(event, (bytes, bytearray, memoryview)):
        return bytes(event)
    if isinstance(event, str):
        return event.encode("utf-8")
    return _json_bytes(event)


def _json_text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: "LambdaEmulator"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime that is killed mid-connection resets it; that is routine here.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class LambdaEmulator:
    """One emulated Lambda execution environment serving the Runtime API and the invoke endpoint.

    Managed mode (``command`` given): the runtime process is started lazily by the first
    invoke (or by ``start()`` when ``eager``), killed on timeout, and started again by the
    next invoke. External mode (``command`` None): the caller starts the runtime with
    ``runtime_api`` as ``AWS_LAMBDA_RUNTIME_API`` and ``restart_hook(reason)`` is called when
    a fresh runtime is needed (reason: "timeout", "init_timeout", "init_error", "exit").
    """

    def __init__(
        self,
        command: Optional[Sequence[str]] = None,
        *,
        handler: Optional[str] = None,
        function_name: str = "function",
        function_version: str = DEFAULT_FUNCTION_VERSION,
        timeout: float = 3.0,
        init_timeout: float = 10.0,
        memory_mb: int = 128,
        host: str = "127.0.0.1",
        port: int = 0,
        runtime_host: Optional[str] = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        execution_env: str = DEFAULT_EXECUTION_ENV,
        env: Optional[Mapping[str, str]] = None,
        inherit_env: bool = True,
        cwd: Optional[Union[str, os.PathLike]] = None,
        task_root: Optional[str] = None,
        stdout: Any = None,
        stderr: Any = None,
        eager: bool = False,
        restart_hook: Optional[HookType] = None,
        max_memory_mb: Optional[Callable[[], Optional[float]]] = None,
        max_request_bytes: int = MAX_PAYLOAD_BYTES,
        max_response_bytes: int = MAX_PAYLOAD_BYTES,
        exit_grace: float = 1.0,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        if timeout <= 0 or init_timeout <= 0:
            raise ValueError("timeout and init_timeout must be positive")
        self.command = list(command) if command is not None else None
        self.handler = handler if handler is not None else (self.command[-1] if self.command else "")
        self.function_name = function_name
        self.function_version = function_version
        self.timeout = float(timeout)
        self.init_timeout = float(init_timeout)
        self.memory_mb = int(memory_mb)
        self.host = host
        self.port = int(port)
        self.runtime_host = runtime_host
        self.region = region
        self.account_id = account_id
        self.execution_env = execution_env
        self.extra_env = dict(env or {})
        self.inherit_env = inherit_env
        self.cwd = os.fspath(cwd) if cwd is not None else None
        self.task_root = task_root
        self.stdout = stdout
        self.stderr = stderr
        self.eager = eager
        self.restart_hook = restart_hook
        self.max_memory_mb = max_memory_mb
        self.max_request_bytes = int(max_request_bytes)
        self.max_response_bytes = int(max_response_bytes)
        self.exit_grace = float(exit_grace)
        self._log = log if log is not None else logger.info
        self.function_arn = make_function_arn(function_name, region, account_id)

        self.invocations: list[InvocationRecord] = []

        self._invoke_lock = threading.Lock()
        self._cv = threading.Condition(threading.Lock())
        self._server: Optional[_Server] = None
        self._server_thread: Optional[threading.Thread] = None
        self._stopping = False
        # Per-runtime ("generation") state, guarded by _cv.
        self._gen = 0
        self._proc: Optional[subprocess.Popen] = None
        self._start_mono: Optional[float] = None
        self._init_done = False
        self._init_ms: Optional[float] = None
        self._init_error: Optional[dict] = None
        self._init_error_payload: bytes = b""
        self._init_error_served = False
        self._delivered_in_gen = 0
        self._needs_restart: Optional[str] = None
        self._pending: Optional[_Invocation] = None
        self._inflight: Optional[_Invocation] = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def managed(self) -> bool:
        return self.command is not None

    def start(self) -> "LambdaEmulator":
        if self._server is not None:
            return self
        server_cls = _Server6 if ":" in self.host else _Server
        server = server_cls((self.host, self.port), _Handler)
        server.emulator = self
        self._server = server
        self.port = server.server_address[1]
        self._stopping = False
        self._server_thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="lambda-emulator-http", daemon=True
        )
        self._server_thread.start()
        with self._cv:
            if not self.managed:
                # The caller starts the runtime; measure its init from now on.
                self._start_mono = time.monotonic()
        if self.managed and self.eager:
            self._spawn()
        return self

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            proc, self._proc = self._proc, None
            for inv in (self._pending, self._inflight):
                if inv is not None:
                    msg = f"RequestId: {inv.request_id} Error: the emulator was stopped"
                    inv.complete(self._error_outcome("Runtime.ExitError", msg, OUTCOME_RUNTIME_EXIT, None))
            self._pending = self._inflight = None
            self._gen += 1
            self._cv.notify_all()
        if proc is not None:
            self._terminate(proc, grace=0.0)
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._server_thread is not None:
            self._server_thread.join(timeout=5)
            self._server_thread = None

    def __enter__(self) -> "LambdaEmulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """``host:port`` the runtime should use as AWS_LAMBDA_RUNTIME_API."""
        host = self.runtime_host or self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{self.port}"

    runtime_api = address

    @property
    def invoke_url(self) -> str:
        return f"http://{self.address}/2015-03-31/functions/{self.function_name}/invocations"

    @property
    def runtime_pid(self) -> Optional[int]:
        with self._cv:
            return self._proc.pid if self._proc is not None else None

    def lambda_env(self, **overrides: Any) -> dict[str, str]:
        """``lambda_env()`` filled in with this emulator's settings (keyword overrides win)."""
        kwargs: dict[str, Any] = dict(
            handler=self.handler,
            function_name=self.function_name,
            function_version=self.function_version,
            memory_mb=self.memory_mb,
            region=self.region,
            execution_env=self.execution_env,
            task_root=self.task_root or self.cwd or "/var/task",
        )
        kwargs.update(overrides)
        return lambda_env(kwargs.pop("runtime_api", self.address), **kwargs)

    # ------------------------------------------------------------------ external-mode notifications

    def notify_runtime_started(self) -> None:
        """External mode: a runtime was just started; its init time is measured from now.

        Call it after starting the runtime and before it can reach /next (optional: start()
        and each restart_hook call already restart the clock).
        """
        with self._cv:
            self._start_mono = time.monotonic()

    @property
    def generation(self) -> int:
        """Counter bumped whenever the emulator moves on to a new runtime.

        External mode: read it when (re)starting a runtime (e.g. inside restart_hook) and pass
        it to notify_runtime_exited, so a late exit report of a replaced runtime is ignored.
        """
        with self._cv:
            return self._gen

    def notify_runtime_exited(self, returncode: Optional[int] = None, generation: Optional[int] = None) -> None:
        """External mode: the runtime process ended. Fails any invocation it held.

        ``restart_hook("exit")`` is then called by the invoke that was failed, or by the next
        invoke. With ``generation`` (see ``generation``), reports about replaced runtimes are ignored.
        """
        with self._cv:
            self._on_exit_locked(self._gen if generation is None else generation, returncode)

    # ------------------------------------------------------------------ invoke

    def invoke(
        self,
        event: Any = None,
        *,
        client_context: Any = None,
        cognito_identity: Any = None,
        trace_id: Optional[str] = None,
        function_arn: Optional[str] = None,
        content_type: str = "application/json",
    ) -> InvokeResult:
        """Run one invocation and wait for its outcome (serialised with every other invoke).

        ``event``: bytes/str are sent as is, anything else is JSON-encoded (None -> ``{}``).
        ``client_context`` / ``cognito_identity``: dict or JSON text, passed to the runtime in
        the Lambda-Runtime-Client-Context / Lambda-Runtime-Cognito-Identity headers.
        """
        body = _event_bytes(event)
        if len(body) > self.max_request_bytes:
            raise PayloadTooLarge(
                f"request payload is {len(body)} bytes, over the {self.max_request_bytes} byte limit"
            )
        inv = _Invocation(
            request_id=str(uuid.uuid4()),
            event=body,
            content_type=content_type,
            trace_id=trace_id or _new_trace_id(),
            function_arn=function_arn or self.function_arn,
            client_context=_json_text(client_context),
            cognito_identity=_json_text(cognito_identity),
        )
        with self._invoke_lock:
            if self._server is None or self._stopping:
                raise EmulatorError("emulator is not running; call start() first")
            self._restart_if_needed()
            started_at = time.time()
            t0 = time.monotonic()
            self._log(f"START RequestId: {inv.request_id} Version: {self.function_version}")
            with self._cv:
                if self._init_error is not None and not self._init_error_served:
                    # An init error reported before any invoke is served to the first one.
                    self._init_error_served = True
                    inv.cold = True
                    inv.init_ms = self._init_ms
                    inv.complete(self._init_error_outcome())
                    self._needs_restart = "init_error"
            retried = False
            phase_start = t0
            while True:
                with self._cv:
                    if inv.outcome is None:
                        # Post the event before any spawn, so that an init error or an exit of
                        # the new runtime, however early, finds it.
                        inv.respawn = False
                        inv.allow_respawn = not retried
                        self._pending = inv
                        self._cv.notify_all()
                    need_spawn = inv.outcome is None and self.managed and not self._proc_alive_locked()
                if need_spawn:
                    try:
                        self._spawn()
                    except OSError as exc:
                        msg = f"RequestId: {inv.request_id} Error: could not start the runtime {self.command!r}: {exc}"
                        with self._cv:
                            if self._pending is inv:
                                self._pending = None
                            inv.cold = True
                            inv.complete(self._error_outcome("Runtime.InvalidEntrypoint", msg, OUTCOME_RUNTIME_EXIT, None))
                with self._cv:
                    if inv.outcome is None and not inv.respawn:
                        self._await_outcome_locked(inv, phase_start)
                    pid = inv.runtime_pid
                    if pid is None and self._proc is not None:
                        pid = self._proc.pid
                if inv.outcome is not None:
                    break
                # The warm runtime exited between invocations (e.g. it crashed after its last
                # response): like Lambda, serve this event from a fresh runtime, once.
                retried = True
                phase_start = time.monotonic()
                self._restart_if_needed()
            outcome = inv.outcome
            assert outcome is not None
            with self._cv:
                if self._pending is inv:
                    self._pending = None
                if self._inflight is inv:
                    self._inflight = None
                if outcome.restart_reason and self._needs_restart is None:
                    self._needs_restart = outcome.restart_reason
            max_mem = self._read_max_memory(pid)
            self._restart_if_needed()
            record = self._record(inv, outcome, t0, started_at, max_mem, pid)
            with self._cv:
                self.invocations.append(record)
            self._log(f"END RequestId: {inv.request_id}")
            self._log(record.report)
        return InvokeResult(
            request_id=inv.request_id,
            payload=outcome.payload,
            content_type=outcome.content_type,
            function_error=None if outcome.kind == OUTCOME_SUCCESS else "Unhandled",
            record=record,
        )

    def _await_outcome_locked(self, inv: _Invocation, t0: float) -> None:
        """Wait until ``inv`` (already pending) has an outcome, or its warm runtime died before taking it."""
        if self._proc is not None:
            inv.runtime_pid = self._proc.pid
        init_deadline = t0 + self.init_timeout
        while inv.outcome is None:
            if inv.respawn:
                return
            now = time.monotonic()
            if inv.delivered_mono is None:
                if now >= init_deadline:
                    if self._pending is inv:
                        self._pending = None
                    if self._start_mono is not None and not self._init_done:
                        inv.init_ms = (now - self._start_mono) * 1000.0
                    inv.cold = True
                    msg = (
                        f"RequestId: {inv.request_id} Error: the runtime did not ask for an invocation "
                        f"within the {self.init_timeout:.2f} second init timeout"
                    )
                    inv.complete(self._error_outcome("Sandbox.Timedout", msg, OUTCOME_INIT_TIMEOUT, "init_timeout"))
                    break
                limit = init_deadline
            else:
                assert inv.deadline_mono is not None
                if now >= inv.deadline_mono:
                    if self._inflight is inv:
                        self._inflight = None
                    msg = f"RequestId: {inv.request_id} Error: Task timed out after {self.timeout:.2f} seconds"
                    inv.complete(self._error_outcome("Sandbox.Timedout", msg, OUTCOME_TIMEOUT, "timeout"))
                    break
                limit = inv.deadline_mono
            self._cv.wait(max(0.0, limit - now))

    @staticmethod
    def _error_outcome(error_type: str, message: str, kind: str, restart: Optional[str]) -> _Outcome:
        doc = _error_doc(error_type, message)
        return _Outcome(kind=kind, payload=_json_bytes(doc), error=doc, restart_reason=restart)

    def _init_error_outcome(self) -> _Outcome:
        assert self._init_error is not None
        return _Outcome(
            kind=OUTCOME_INIT_ERROR,
            payload=self._init_error_payload,
            error=dict(self._init_error),
            restart_reason="init_error",
        )

    def _read_max_memory(self, pid: Optional[int]) -> Optional[float]:
        try:
            if self.max_memory_mb is not None:
                value = self.max_memory_mb()
                return None if value is None else float(value)
            if pid is not None:
                return process_peak_rss_mb(pid)
        except Exception:  # a broken probe must not break the invoke
            logger.exception("max_memory_mb callable failed")
        return None

    def _record(
        self,
        inv: _Invocation,
        outcome: _Outcome,
        t0: float,
        started_at: float,
        max_mem: Optional[float],
        pid: Optional[int],
    ) -> InvocationRecord:
        end = inv.finished_mono or time.monotonic()
        duration = None if inv.delivered_mono is None else max(0.0, (end - inv.delivered_mono) * 1000.0)
        billed = None if duration is None else int(math.ceil(duration))
        record = InvocationRecord(
            request_id=inv.request_id,
            status=outcome.kind,
            cold_start=inv.cold,
            init_ms=inv.init_ms if inv.cold else None,
            duration_ms=duration,
            billed_ms=billed,
            total_ms=(end - t0) * 1000.0,
            error=outcome.error,
            max_memory_mb=max_mem,
            memory_size_mb=self.memory_mb,
            runtime_pid=pid,
            response_bytes=len(outcome.payload),
            started_at=started_at,
        )
        record.report = format_report(record)
        return record

    # ------------------------------------------------------------------ runtime process management

    def _proc_alive_locked(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _reset_generation_locked(self) -> None:
        self._init_done = False
        self._init_ms = None
        self._init_error = None
        self._init_error_payload = b""
        self._init_error_served = False
        self._delivered_in_gen = 0
        self._needs_restart = None

    def _spawn(self) -> None:
        assert self.command is not None
        env = merged_env(os.environ if self.inherit_env else {}, self.lambda_env(), self.extra_env)
        with self._cv:
            if self._stopping:
                raise EmulatorError("emulator is stopping")
            self._gen += 1
            gen = self._gen
            self._reset_generation_locked()
            self._start_mono = time.monotonic()
            proc = subprocess.Popen(
                self.command,
                env=env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=self.stdout,
                stderr=self.stderr,
                start_new_session=True,  # its own process group, so children die with it
            )
            self._proc = proc
        logger.debug("spawned runtime pid %d (generation %d)", proc.pid, gen)
        threading.Thread(target=self._watch, args=(proc, gen), name=f"lambda-runtime-{proc.pid}", daemon=True).start()

    def _watch(self, proc: subprocess.Popen, gen: int) -> None:
        code = proc.wait()
        with self._cv:
            self._on_exit_locked(gen, code)

    def _on_exit_locked(self, gen: int, returncode: Optional[int]) -> None:
        logger.debug("runtime of generation %d exited (%s); current generation %d", gen, returncode, self._gen)
        if gen != self._gen:
            return  # an old runtime we already replaced
        why = _describe_returncode(returncode)
        pending = self._pending
        if pending is not None and pending.delivered_mono is None and self._init_done and pending.allow_respawn:
            # A warm runtime died while idle; the waiting invoke retries on a fresh one.
            pending.respawn = True
            self._pending = None
        for inv in (self._pending, self._inflight):
            if inv is None:
                continue
            if inv.delivered_mono is None:
                inv.cold = True
                if self._start_mono is not None and not self._init_done:
                    inv.init_ms = (time.monotonic() - self._start_mono) * 1000.0
            msg = f"RequestId: {inv.request_id} Error: Runtime exited with error: {why}"
            inv.complete(self._error_outcome("Runtime.ExitError", msg, OUTCOME_RUNTIME_EXIT, "exit"))
        self._pending = None
        self._inflight = None
        # An init error nobody has been served yet outlives the runtime that reported it.
        unserved = None
        if self._init_error is not None and not self._init_error_served:
            unserved = (self._init_error, self._init_error_payload, self._init_ms)
        self._gen += 1  # /next calls of the dead runtime must not take new events
        self._reset_generation_locked()
        if unserved is not None:
            self._init_error, self._init_error_payload, self._init_ms = unserved
        if self.managed:
            self._proc = None  # the next invoke starts a fresh one
        else:
            self._needs_restart = "exit"  # the next invoke calls restart_hook("exit")
        self._cv.notify_all()

    def _restart_if_needed(self) -> None:
        """Replace the runtime if a timeout, init error or exit asked for it. Holds _invoke_lock."""
        with self._cv:
            reason, self._needs_restart = self._needs_restart, None
            if reason is None:
                return
            logger.debug("replacing the runtime of generation %d (%s)", self._gen, reason)
            self._gen += 1
            self._reset_generation_locked()
            proc, self._proc = self._proc, None
            if not self.managed:
                self._start_mono = time.monotonic()
            self._cv.notify_all()
        if self.managed:
            if proc is not None:
                # After an init error the runtime exits by itself: give it a moment first.
                self._terminate(proc, grace=self.exit_grace if reason == "init_error" else 0.0)
            return
        if self.restart_hook is None:
            logger.warning("runtime needs a restart (%s) but no restart_hook was given", reason)
            return
        try:
            self.restart_hook(reason)
        except Exception:
            logger.exception("restart_hook(%r) failed", reason)

    @staticmethod
    def _terminate(proc: subprocess.Popen, grace: float) -> None:
        if grace > 0:
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group we created with start_new_session
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.error("runtime pid %d did not die after SIGKILL", proc.pid)

    # ------------------------------------------------------------------ Runtime API handlers

    def _handle_next(self, req: "_Handler") -> None:
        with self._cv:
            gen = self._gen
            logger.debug("/next from %s (generation %d)", req.client_address, gen)
            if not self._init_done:
                self._init_done = True
                if self._start_mono is not None:
                    self._init_ms = (time.monotonic() - self._start_mono) * 1000.0
            inv: Optional[_Invocation] = None
            while True:
                if self._stopping or gen != self._gen:
                    break
                if self._pending is not None and self._inflight is None:
                    if req.peer_closed() or (self.managed and not self._proc_alive_locked()):
                        # A runtime that died while waiting here must not swallow the event.
                        req.close_connection = True
                        return
                    inv = self._pending
                    self._pending = None
                    now = time.monotonic()
                    inv.delivered_mono = now
                    inv.deadline_mono = now + self.timeout
                    inv.deadline_epoch_ms = int((time.time() + self.timeout) * 1000)
                    inv.cold = self._delivered_in_gen == 0
                    if inv.cold:
                        inv.init_ms = self._init_ms
                    self._delivered_in_gen += 1
                    inv.runtime_pid = self._proc.pid if self._proc is not None else None
                    self._inflight = inv
                    self._cv.notify_all()
                    break
                self._cv.wait(_NEXT_POLL_SECONDS)
                if req.peer_closed():
                    req.close_connection = True
                    return
        if inv is None:
            # This runtime was replaced or the emulator is stopping: tell it to exit.
            req.send_json(500, _error_doc("Runtime.Reset", "the execution environment was reset; exit"), close=True)
            return
        assert inv.deadline_epoch_ms is not None
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_epoch_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id,
        }
        if inv.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = inv.client_context
        if inv.cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = inv.cognito_identity
        if not req.send(200, inv.event, inv.content_type, headers):
            # The runtime went away before it got the event: offer it to the next /next.
            with self._cv:
                if self._inflight is inv and inv.outcome is None:
                    self._inflight = None
                    inv.delivered_mono = inv.deadline_mono = inv.deadline_epoch_ms = None
                    self._delivered_in_gen -= 1
                    self._pending = inv
                    self._cv.notify_all()

    def _handle_invocation_post(self, req: "_Handler", request_id: str, kind: str) -> None:
        body, size = req.read_body(self.max_response_bytes)
        error_type_header = req.headers.get("Lambda-Runtime-Function-Error-Type")
        with self._cv:
            inv = self._inflight
            if inv is None or inv.request_id != request_id or inv.outcome is not None:
                req.send_json(400, _error_doc("InvalidRequestID", f"unknown or finished request id: {request_id}"))
                return
            if kind == "response":
                if body is None:
                    msg = f"Response payload size ({size} bytes) exceeded maximum allowed payload size ({self.max_response_bytes} bytes)."
                    inv.complete(self._error_outcome("Function.ResponseSizeTooLarge", msg, OUTCOME_RESPONSE_TOO_LARGE, None))
                    status, doc = 413, _error_doc("RequestEntityTooLarge", msg)
                else:
                    ctype = req.headers.get("Content-Type") or "application/json"
                    inv.complete(_Outcome(kind=OUTCOME_SUCCESS, payload=body, content_type=ctype))
                    status, doc = 202, {"status": "OK"}
            else:
                error, payload = _parse_error(body, error_type_header, default_type="Unhandled")
                inv.complete(_Outcome(kind=OUTCOME_ERROR, payload=payload, error=error))
                status, doc = 202, {"status": "OK"}
            self._inflight = None
            self._cv.notify_all()
        req.send_json(status, doc)

    def _handle_init_error(self, req: "_Handler") -> None:
        body, _size = req.read_body(self.max_response_bytes)
        error_type_header = req.headers.get("Lambda-Runtime-Function-Error-Type")
        with self._cv:
            logger.debug("/init/error (%s) in generation %d", error_type_header, self._gen)
            if self._init_done or self._init_error is not None:
                req.send_json(403, _error_doc("InvalidStateTransition", "init error after init completed or already reported"))
                return
            error, payload = _parse_error(body, error_type_header, default_type="Runtime.Unknown")
            self._init_error = error
            self._init_error_payload = payload
            if self._start_mono is not None:
                self._init_ms = (time.monotonic() - self._start_mono) * 1000.0
            inv = self._pending
            if inv is not None and inv.delivered_mono is None:
                self._pending = None
                self._init_error_served = True
                inv.cold = True
                inv.init_ms = self._init_ms
                inv.complete(self._init_error_outcome())
            self._cv.notify_all()
        req.send_json(202, {"status": "OK"})

    def _handle_invoke(self, req: "_Handler") -> None:
        body, size = req.read_body(self.max_request_bytes)
        if body is None:
            req.send_json(
                413,
                _error_doc(
                    "RequestTooLargeException",
                    f"Request must be smaller than {self.max_request_bytes} bytes for the InvokeFunction operation",
                ),
            )
            return
        invocation_type = req.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type != "RequestResponse":
            req.send_json(
                400,
                _error_doc("InvalidParameterValueException", f"only RequestResponse invokes are emulated, not {invocation_type}"),
            )
            return
        client_context = None
        raw_cc = req.headers.get("X-Amz-Client-Context")
        if raw_cc:
            try:
                client_context = base64.b64decode(raw_cc, validate=True).decode("utf-8")
                json.loads(client_context)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                req.send_json(400, _error_doc("InvalidRequestContentException", "X-Amz-Client-Context must be base64 JSON"))
                return
        try:
            result = self.invoke(body, client_context=client_context, trace_id=req.headers.get("X-Amzn-Trace-Id"))
        except EmulatorError as exc:
            req.send_json(503, _error_doc("ServiceException", str(exc)))
            return
        headers = {"X-Amz-Executed-Version": self.function_version, "X-Amzn-RequestId": result.request_id}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        req.send(200, result.payload, result.content_type, headers)


def _parse_error(body: Optional[bytes], header_type: Optional[str], default_type: str) -> tuple[dict, bytes]:
    """The error document a runtime posted, completed from the error-type header when needed."""
    doc: Optional[dict] = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            doc = parsed
    if doc is None:
        doc = _error_doc(header_type or default_type, "" if body is None else body.decode("utf-8", "replace"))
        return doc, _json_bytes(doc)
    if not doc.get("errorType"):
        doc["errorType"] = header_type or default_type
        return doc, _json_bytes(doc)
    assert body is not None
    return doc, body


def format_report(record: InvocationRecord) -> str:
    """A REPORT line shaped like Lambda's (tab separated)."""
    duration = record.duration_ms if record.duration_ms is not None else 0.0
    billed = record.billed_ms if record.billed_ms is not None else 0
    parts = [
        f"REPORT RequestId: {record.request_id}",
        f"Duration: {duration:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {record.memory_size_mb} MB",
    ]
    if record.max_memory_mb is not None:
        parts.append(f"Max Memory Used: {int(math.ceil(record.max_memory_mb))} MB")
    if record.cold_start and record.init_ms is not None:
        parts.append(f"Init Duration: {record.init_ms:.2f} ms")
    if record.status in (OUTCOME_TIMEOUT, OUTCOME_INIT_TIMEOUT):
        parts.append("Status: timeout")
    elif record.status in (OUTCOME_INIT_ERROR, OUTCOME_RUNTIME_EXIT, OUTCOME_RESPONSE_TOO_LARGE):
        parts.append("Status: error")
        if record.error_type:
            parts.append(f"Error Type: {record.error_type}")
    return "\t".join(parts)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lambda-emulator"
    server: _Server

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

    # --- helpers

    def read_body(self, limit: int) -> tuple[Optional[bytes], int]:
        """The request body, or (None, size) when it is larger than ``limit`` (it is still drained)."""
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
                remaining = n
                while remaining:
                    data = self.rfile.read(min(remaining, 65536))
                    if not data:
                        self.close_connection = True
                        break
                    take(data)
                    remaining -= len(data)
                self.rfile.readline(65537)  # CRLF after each chunk
        else:
            try:
                remaining = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                remaining = 0
            while remaining > 0:
                data = self.rfile.read(min(remaining, 65536))
                if not data:
                    self.close_connection = True
                    break
                take(data)
                remaining -= len(data)
        return (b"".join(chunks) if keep else None), total

    def send(self, status: int, body: bytes, content_type: str, headers: Optional[Mapping[str, str]] = None, close: bool = False) -> bool:
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
        return self.send(status, _json_bytes(doc), "application/json", close=close)

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
            self.server.emulator._handle_next(self)
        else:
            self._not_found(path)

    def do_POST(self) -> None:  # noqa: N802
        emu = self.server.emulator
        path = urlsplit(self.path).path
        m = _INVOCATION_RE.match(path)
        if m:
            emu._handle_invocation_post(self, unquote(m.group(1)), m.group(2))
            return
        if path == _INIT_ERROR_PATH:
            emu._handle_init_error(self)
            return
        if _INVOKE_RE.match(path):
            emu._handle_invoke(self)
            return
        self._not_found(path)

    def _not_found(self, path: str) -> None:
        self.read_body(0)
        self.send_json(404, _error_doc("NotFound", f"no such resource: {path}"))
