"""The state machine of one emulated Lambda execution environment: ``LambdaEmulator``.

One ``LambdaEmulator`` is one Lambda execution environment: one HTTP server that a runtime
(``awslambdaric`` or any custom runtime) polls for events, one invocation at a time, with
the function timeout enforced. It can start the runtime process itself ("managed" mode) or
leave that to the caller ("external" mode, e.g. a container started under runc), in which
case a restart hook is called whenever a fresh runtime is needed.

Every piece of shared state (the runtime generation, the pending and in-flight invocation,
init progress) lives here behind the one condition variable ``_cv``, so that invoke(), the
Runtime API handlers (api_*.py) and the process watcher (supervisor.py) never disagree.
Those other files only read requests and write replies, or start and kill processes.

Only the standard library is used.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import supervisor
from .env import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_EXECUTION_ENV,
    DEFAULT_FUNCTION_VERSION,
    DEFAULT_REGION,
    function_arn as make_function_arn,
    lambda_env,
    merged_env,
)
from .invocation import (
    Invocation,
    Outcome,
    RuntimeHungUp,
    build_record,
    exit_outcome,
    init_error_outcome,
    init_timeout_outcome,
    spawn_failed_outcome,
    stopped_outcome,
    timeout_outcome,
)
from .records import EmulatorError, InvocationRecord, InvokeResult, PayloadTooLarge
from .transport import Server, make_server
from .wire import event_bytes, json_text, new_trace_id

logger = logging.getLogger("tools.lambda_emulator")

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous request and response limit

# How often a blocked /next re-checks that its connection is still open.
_NEXT_POLL_SECONDS = 0.25

HookType = Callable[[str], None]


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
        command: Sequence[str] | None = None,
        *,
        handler: str | None = None,
        function_name: str = "function",
        function_version: str = DEFAULT_FUNCTION_VERSION,
        timeout: float = 3.0,
        init_timeout: float = 10.0,
        memory_mb: int = 128,
        host: str = "127.0.0.1",
        port: int = 0,
        runtime_host: str | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        execution_env: str = DEFAULT_EXECUTION_ENV,
        env: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        cwd: str | os.PathLike | None = None,
        task_root: str | None = None,
        stdout: Any = None,
        stderr: Any = None,
        eager: bool = False,
        restart_hook: HookType | None = None,
        max_memory_mb: Callable[[], float | None] | None = None,
        max_request_bytes: int = MAX_PAYLOAD_BYTES,
        max_response_bytes: int = MAX_PAYLOAD_BYTES,
        exit_grace: float = 1.0,
        log: Callable[[str], None] | None = None,
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
        self._server: Server | None = None
        self._server_thread: threading.Thread | None = None
        self._stopping = False
        # Per-runtime ("generation") state, guarded by _cv.
        self._gen = 0
        self._proc: subprocess.Popen | None = None
        self._start_mono: float | None = None
        self._init_done = False
        self._init_ms: float | None = None
        self._init_error: dict | None = None
        self._init_error_payload: bytes = b""
        self._init_error_served = False
        self._delivered_in_gen = 0
        self._needs_restart: str | None = None
        self._pending: Invocation | None = None
        self._inflight: Invocation | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def managed(self) -> bool:
        return self.command is not None

    def start(self) -> LambdaEmulator:
        if self._server is not None:
            return self
        server = make_server(self, self.host, self.port)
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
                    inv.complete(stopped_outcome(inv.request_id))
            self._pending = self._inflight = None
            self._gen += 1
            self._cv.notify_all()
        if proc is not None:
            supervisor.terminate(proc, grace=0.0)
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._server_thread is not None:
            self._server_thread.join(timeout=5)
            self._server_thread = None

    def __enter__(self) -> LambdaEmulator:
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
    def runtime_pid(self) -> int | None:
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

    def notify_runtime_exited(self, returncode: int | None = None, generation: int | None = None) -> None:
        """External mode: the runtime process ended. Fails any invocation it held.

        ``restart_hook("exit")`` is then called by the invoke that was failed, or by the next
        invoke. With ``generation`` (see ``generation``), reports about replaced runtimes are ignored.
        In managed mode the process watcher reports each exit through here itself.
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
        trace_id: str | None = None,
        function_arn: str | None = None,
        content_type: str = "application/json",
    ) -> InvokeResult:
        """Run one invocation and wait for its outcome (serialised with every other invoke).

        ``event``: bytes/str are sent as is, anything else is JSON-encoded (None -> ``{}``).
        ``client_context`` / ``cognito_identity``: dict or JSON text, passed to the runtime in
        the Lambda-Runtime-Client-Context / Lambda-Runtime-Cognito-Identity headers.
        """
        body = event_bytes(event)
        if len(body) > self.max_request_bytes:
            raise PayloadTooLarge(
                f"request payload is {len(body)} bytes, over the {self.max_request_bytes} byte limit"
            )
        inv = Invocation(
            request_id=str(uuid.uuid4()),
            event=body,
            content_type=content_type,
            trace_id=trace_id or new_trace_id(),
            function_arn=function_arn or self.function_arn,
            client_context=json_text(client_context),
            cognito_identity=json_text(cognito_identity),
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
                    inv.complete(self._init_error_outcome_locked())
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
                        with self._cv:
                            if self._pending is inv:
                                self._pending = None
                            inv.cold = True
                            inv.complete(spawn_failed_outcome(inv.request_id, self.command, exc))
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
            max_mem = supervisor.peak_memory_mb(self.max_memory_mb, pid)
            self._restart_if_needed()
            record = build_record(
                inv, outcome, t0=t0, started_at=started_at, max_memory_mb=max_mem, pid=pid, memory_size_mb=self.memory_mb
            )
            with self._cv:
                self.invocations.append(record)
            self._log(f"END RequestId: {inv.request_id}")
            self._log(record.report)
        return InvokeResult(
            request_id=inv.request_id,
            payload=outcome.payload,
            content_type=outcome.content_type,
            function_error=outcome.function_error,
            record=record,
        )

    def _await_outcome_locked(self, inv: Invocation, t0: float) -> None:
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
                    inv.complete(init_timeout_outcome(inv.request_id, self.init_timeout))
                    break
                limit = init_deadline
            else:
                assert inv.deadline_mono is not None
                if now >= inv.deadline_mono:
                    if self._inflight is inv:
                        self._inflight = None
                    inv.complete(timeout_outcome(inv.request_id, self.timeout))
                    break
                limit = inv.deadline_mono
            self._cv.wait(max(0.0, limit - now))

    def _init_error_outcome_locked(self) -> Outcome:
        assert self._init_error is not None
        return init_error_outcome(self._init_error, self._init_error_payload)

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
            proc = supervisor.spawn(self.command, env=env, cwd=self.cwd, stdout=self.stdout, stderr=self.stderr)
            self._proc = proc
        logger.debug("spawned runtime pid %d (generation %d)", proc.pid, gen)
        supervisor.watch(proc, lambda code: self.notify_runtime_exited(code, generation=gen))

    def _on_exit_locked(self, gen: int, returncode: int | None) -> None:
        logger.debug("runtime of generation %d exited (%s); current generation %d", gen, returncode, self._gen)
        if gen != self._gen:
            return  # an old runtime we already replaced
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
            inv.complete(exit_outcome(inv.request_id, returncode))
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
                supervisor.terminate(proc, grace=self.exit_grace if reason == "init_error" else 0.0)
            return
        if self.restart_hook is None:
            logger.warning("runtime needs a restart (%s) but no restart_hook was given", reason)
            return
        try:
            self.restart_hook(reason)
        except Exception:
            logger.exception("restart_hook(%r) failed", reason)

    # ------------------------------------------------------------------ Runtime API side
    # The api_*.py handlers deal with HTTP; every state change they cause happens here, under _cv.

    def _next_invocation(self, peer_closed: Callable[[], bool], client: Any) -> Invocation | None:
        """Block a runtime's /next until there is an event for it, and mark that event delivered.

        None: this runtime was replaced, or the emulator is stopping. Raises RuntimeHungUp when
        the runtime closed the connection first, so a dead runtime never swallows an event.
        """
        with self._cv:
            gen = self._gen
            logger.debug("/next from %s (generation %d)", client, gen)
            if not self._init_done:
                self._init_done = True
                if self._start_mono is not None:
                    self._init_ms = (time.monotonic() - self._start_mono) * 1000.0
            while True:
                if self._stopping or gen != self._gen:
                    return None
                if self._pending is not None and self._inflight is None:
                    if peer_closed() or (self.managed and not self._proc_alive_locked()):
                        raise RuntimeHungUp
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
                    return inv
                self._cv.wait(_NEXT_POLL_SECONDS)
                if peer_closed():
                    raise RuntimeHungUp

    def _undeliver(self, inv: Invocation) -> None:
        """The event never reached the runtime (its connection broke): make it pending again."""
        with self._cv:
            if self._inflight is inv and inv.outcome is None:
                self._inflight = None
                inv.delivered_mono = inv.deadline_mono = inv.deadline_epoch_ms = None
                self._delivered_in_gen -= 1
                self._pending = inv
                self._cv.notify_all()

    def _finish_inflight(self, request_id: str, outcome: Outcome) -> bool:
        """The runtime answered ``request_id``; False when that is not the invocation it holds."""
        with self._cv:
            inv = self._inflight
            if inv is None or inv.request_id != request_id or inv.outcome is not None:
                return False
            inv.complete(outcome)
            self._inflight = None
            self._cv.notify_all()
        return True

    def _init_failed(self, error: dict, payload: bytes) -> bool:
        """The runtime reported an init error; False once it has reached /next or already reported one.

        The error goes to the invoke waiting for this runtime, or else to the next invoke.
        """
        with self._cv:
            logger.debug("/init/error (%s) in generation %d", error.get("errorType"), self._gen)
            if self._init_done or self._init_error is not None:
                return False
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
                inv.complete(self._init_error_outcome_locked())
            self._cv.notify_all()
        return True
