"""Tests of tools.lambda_emulator against the real awslambdaric runtime client.

Every runtime here is a child process of this test process (``sys.executable -m awslambdaric``)
talking to an emulator bound to 127.0.0.1 on a free port.
"""

from __future__ import annotations

import base64
import faulthandler
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tools import lambda_emulator
from tools.lambda_emulator import MAX_PAYLOAD_BYTES, LambdaEmulator, PayloadTooLarge, lambda_env

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
RUNTIME_API_PREFIX = "/2018-06-01/runtime"
REPORT_RE = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<dur>\d+\.\d\d) ms\tBilled Duration: (?P<billed>\d+) ms"
    r"\tMemory Size: (?P<mem>\d+) MB"
)


# ---------------------------------------------------------------------------- helpers


def runtime_pythonpath() -> str:
    """The handler modules' folder, then this interpreter's path (so awslambdaric imports)."""
    return os.pathsep.join([str(HERE)] + [p for p in sys.path if p])


def ric_command(handler: str) -> list[str]:
    return [sys.executable, "-m", "awslambdaric", handler]


def http_request(
    url_host: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 10
) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection(url_host, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def invoke_http(emu: LambdaEmulator, event: object, headers: dict | None = None) -> tuple[int, dict, bytes]:
    path = f"/2015-03-31/functions/{emu.function_name}/invocations"
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return http_request(emu.runtime_api, "POST", path, body, headers)


def invoke_http_failing(emu: LambdaEmulator, event: object, error_type: str) -> dict:
    """Invokes through the endpoint, expecting a function error of ``error_type``; returns its document."""
    status, headers, body = invoke_http(emu, event)
    assert status == 200
    assert headers["x-amz-function-error"] == "Unhandled"
    doc = json.loads(body)
    assert doc["errorType"] == error_type
    return doc


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(autouse=True)
def _bounded_test():
    """Any test still running after 60 s dumps its threads and ends the run instead of hanging."""
    faulthandler.dump_traceback_later(60, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def make_emulator(tmp_path):
    """Builds started managed-mode emulators whose runtime output goes to a log file per emulator."""
    made: list[tuple[LambdaEmulator, object]] = []

    def make(handler: str, **kwargs) -> LambdaEmulator:
        log = open(tmp_path / f"runtime-{len(made)}.log", "wb")
        kwargs.setdefault("timeout", 2)
        kwargs.setdefault("init_timeout", 5)
        kwargs.setdefault("memory_mb", 256)
        kwargs.setdefault("function_name", "fn-under-test")
        command = kwargs.pop("command", None) or ric_command(handler)
        emu = LambdaEmulator(
            command,
            handler=handler,
            cwd=HERE,
            env={"PYTHONPATH": runtime_pythonpath()},
            host="127.0.0.1",
            port=0,
            stdout=log,
            stderr=subprocess.STDOUT,
            **kwargs,
        )
        emu.log_path = Path(log.name)  # type: ignore[attr-defined]
        made.append((emu, log))
        return emu.start()

    yield make
    for emu, log in made:
        emu.stop()
        log.close()


# ---------------------------------------------------------------------------- tests


def test_echo_round_trip_with_context_fields(make_emulator):
    emu = make_emulator("sample_handler.echo", timeout=2, memory_mb=256)
    status, headers, body = invoke_http(emu, {"hello": "world", "n": 3})

    assert status == 200
    assert "x-amz-function-error" not in headers
    doc = json.loads(body)
    assert doc["event"] == {"hello": "world", "n": 3}
    record = emu.invocations[-1]
    assert doc["aws_request_id"] == record.request_id == headers["x-amzn-requestid"]
    assert uuid.UUID(doc["aws_request_id"])
    assert doc["function_name"] == "fn-under-test"
    assert doc["function_version"] == "$LATEST"
    assert doc["memory_limit_in_mb"] == "256"
    assert doc["invoked_function_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn-under-test"
    assert 0 < doc["remaining_ms"] <= 2000
    assert doc["log_group_name"] == "/aws/lambda/fn-under-test"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", doc["log_stream_name"])
    assert doc["env"] == {
        "AWS_LAMBDA_RUNTIME_API": emu.runtime_api,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "_HANDLER": "sample_handler.echo",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(HERE),
    }
    assert doc["trace_id"].startswith("Root=1-")

    assert record.status == lambda_emulator.OUTCOME_SUCCESS
    assert record.error is None
    assert record.cold_start is True
    assert record.init_ms is not None and record.init_ms > 0
    assert record.duration_ms is not None and 0 <= record.duration_ms < 2000
    assert record.billed_ms >= record.duration_ms
    assert record.runtime_pid == doc["pid"]
    m = REPORT_RE.match(record.report)
    assert m and m["id"] == record.request_id and m["mem"] == "256"
    assert "\tInit Duration: " in record.report


def test_client_context_cognito_identity_and_trace_reach_the_handler(make_emulator):
    emu = make_emulator("sample_handler.echo")
    trace = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
    result = emu.invoke(
        {"x": 1},
        client_context={"custom": {"tenant": "t-1"}, "env": {}, "client": {}},
        cognito_identity={"cognitoIdentityId": "id-42", "cognitoIdentityPoolId": "pool-7"},
        trace_id=trace,
    )
    assert result.ok, result.payload
    doc = result.json()
    assert doc["client_context_custom"] == {"tenant": "t-1"}
    assert doc["cognito_identity_id"] == "id-42"
    assert doc["trace_id"] == trace

    # The invoke endpoint takes the client context base64-encoded, as the Invoke API does.
    cc = base64.b64encode(json.dumps({"custom": {"via": "http"}}).encode()).decode()
    status, headers, body = invoke_http(emu, {"x": 2}, {"X-Amz-Client-Context": cc})
    assert status == 200 and "x-amz-function-error" not in headers
    assert json.loads(body)["client_context_custom"] == {"via": "http"}


def test_runtime_api_headers_and_status_codes_seen_by_a_runtime():
    """The test itself plays the runtime (external mode) and checks the wire protocol."""
    emu = LambdaEmulator(None, function_name="raw", timeout=2, init_timeout=5, port=0).start()
    try:
        api = emu.runtime_api
        results: list = []
        t = threading.Thread(
            target=lambda: results.append(
                emu.invoke({"k": "v"}, client_context={"custom": {"a": 1}}, cognito_identity={"cognitoIdentityId": "c"})
            )
        )
        t.start()
        before_ms = time.time() * 1000
        status, headers, body = http_request(api, "GET", f"{RUNTIME_API_PREFIX}/invocation/next")
        assert status == 200
        assert json.loads(body) == {"k": "v"}
        assert headers["content-type"] == "application/json"
        request_id = headers["lambda-runtime-aws-request-id"]
        assert uuid.UUID(request_id)
        deadline = int(headers["lambda-runtime-deadline-ms"])
        assert before_ms + 1000 < deadline <= time.time() * 1000 + 2000 + 5
        assert headers["lambda-runtime-invoked-function-arn"] == emu.function_arn
        assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", headers["lambda-runtime-trace-id"])
        assert json.loads(headers["lambda-runtime-client-context"]) == {"custom": {"a": 1}}
        assert json.loads(headers["lambda-runtime-cognito-identity"]) == {"cognitoIdentityId": "c"}

        # Unknown request id: 400, and the invocation is still waiting for its own answer.
        status, _, body = http_request(api, "POST", f"{RUNTIME_API_PREFIX}/invocation/not-a-request/response", b"{}")
        assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"
        status, _, _ = http_request(
            api, "POST", f"{RUNTIME_API_PREFIX}/invocation/not-a-request/error", b"{}",
            {"Lambda-Runtime-Function-Error-Type": "X"},
        )
        assert status == 400
        # Init errors are refused once the runtime has asked for an invocation.
        status, _, _ = http_request(api, "POST", f"{RUNTIME_API_PREFIX}/init/error", b"{}")
        assert status == 403

        status, _, body = http_request(
            api, "POST", f"{RUNTIME_API_PREFIX}/invocation/{request_id}/response", b'{"answer": 42}',
            {"Content-Type": "application/json"},
        )
        assert status == 202 and json.loads(body) == {"status": "OK"}
        t.join(10)
        assert results and results[0].ok and results[0].json() == {"answer": 42}
        assert results[0].request_id == request_id

        # A second response for the finished request is refused.
        status, _, _ = http_request(api, "POST", f"{RUNTIME_API_PREFIX}/invocation/{request_id}/response", b"{}")
        assert status == 400
        status, _, _ = http_request(api, "GET", "/2018-06-01/runtime/nope")
        assert status == 404

        # Without the optional fields the optional headers are absent.
        t = threading.Thread(target=lambda: results.append(emu.invoke(b"[1, 2]")))
        t.start()
        status, headers, body = http_request(api, "GET", f"{RUNTIME_API_PREFIX}/invocation/next")
        assert status == 200 and body == b"[1, 2]"
        assert "lambda-runtime-client-context" not in headers
        assert "lambda-runtime-cognito-identity" not in headers
        rid = headers["lambda-runtime-aws-request-id"]
        err = {"errorMessage": "bad", "errorType": "Custom.Error", "stackTrace": []}
        status, _, _ = http_request(
            api, "POST", f"{RUNTIME_API_PREFIX}/invocation/{rid}/error", json.dumps(err).encode(),
            {"Lambda-Runtime-Function-Error-Type": "Custom.Error"},
        )
        assert status == 202
        t.join(10)
        assert results[1].function_error == "Unhandled"
        assert results[1].json() == err
        assert emu.invocations[-1].status == lambda_emulator.OUTCOME_ERROR
    finally:
        emu.stop()


def test_handler_exception_is_reported_and_runtime_stays_warm(make_emulator):
    emu = make_emulator("sample_handler.boom")
    doc = invoke_http_failing(emu, {}, "ValueError")
    assert doc["errorMessage"] == "boom"
    assert any("sample_handler.py" in line for line in doc["stackTrace"])
    first = emu.invocations[-1]
    assert first.status == lambda_emulator.OUTCOME_ERROR and first.error_type == "ValueError"

    invoke_http(emu, {})
    second = emu.invocations[-1]
    assert second.error_type == "ValueError"
    assert second.cold_start is False and second.init_ms is None
    assert second.runtime_pid == first.runtime_pid


def test_timeout_kills_runtime_and_next_invoke_gets_a_fresh_one(make_emulator):
    emu = make_emulator("sample_handler.sleep", timeout=1)
    started = time.monotonic()
    doc = invoke_http_failing(emu, {"seconds": 5}, "Sandbox.Timedout")
    elapsed = time.monotonic() - started
    assert "Task timed out after 1.00 seconds" in doc["errorMessage"]
    assert elapsed < 4, elapsed
    timed_out = emu.invocations[-1]
    assert timed_out.status == lambda_emulator.OUTCOME_TIMEOUT
    assert timed_out.duration_ms is not None and 950 <= timed_out.duration_ms < 2500
    assert "\tStatus: timeout" in timed_out.report
    old_pid = timed_out.runtime_pid
    assert old_pid is not None and not pid_alive(old_pid)

    result = emu.invoke({"seconds": 0})
    assert result.ok, result.payload
    assert result.json()["pid"] != old_pid
    fresh = result.record
    assert fresh.cold_start is True
    assert fresh.init_ms is not None and fresh.init_ms > 0
    assert fresh.runtime_pid == result.json()["pid"]


def test_init_error_from_import_failure_is_returned(make_emulator):
    emu = make_emulator("broken_handler.handler")
    doc = invoke_http_failing(emu, {}, "RuntimeError")
    assert doc["errorMessage"] == "init kaboom"
    record = emu.invocations[-1]
    assert record.status == lambda_emulator.OUTCOME_INIT_ERROR
    assert record.cold_start is True and record.init_ms is not None and record.init_ms > 0
    assert record.duration_ms is None
    first_pid = record.runtime_pid

    # Every following invoke tries a fresh init.
    emu.invoke({})
    again = emu.invocations[-1]
    assert again.status == lambda_emulator.OUTCOME_INIT_ERROR and again.cold_start is True
    assert again.runtime_pid != first_pid


def test_missing_handler_module_is_an_import_module_error(make_emulator):
    emu = make_emulator("no_such_module_here.handler")
    result = emu.invoke({})
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.ImportModuleError"
    assert "no_such_module_here" in result.json()["errorMessage"]


def test_runtime_exiting_before_next_is_an_init_failure(make_emulator):
    emu = make_emulator("whatever.handler", command=[sys.executable, "-c", "import sys; sys.exit(7)"])
    result = emu.invoke({})
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.ExitError"
    assert "exit status 7" in result.json()["errorMessage"]
    assert result.record.status == lambda_emulator.OUTCOME_RUNTIME_EXIT
    assert result.record.duration_ms is None


def test_slow_init_hits_the_init_timeout(make_emulator):
    emu = make_emulator("slow_init_handler.handler", init_timeout=1)
    started = time.monotonic()
    result = emu.invoke({})
    assert time.monotonic() - started < 3
    assert result.json()["errorType"] == "Sandbox.Timedout"
    assert result.record.status == lambda_emulator.OUTCOME_INIT_TIMEOUT
    assert result.record.runtime_pid is not None and not pid_alive(result.record.runtime_pid)


def test_sequential_invokes_reuse_the_warm_runtime(make_emulator):
    emu = make_emulator("sample_handler.echo")
    a = emu.invoke({"i": 1})
    b = emu.invoke({"i": 2})
    assert a.ok and b.ok
    assert a.json()["pid"] == b.json()["pid"] == emu.runtime_pid
    assert a.json()["event"] == {"i": 1} and b.json()["event"] == {"i": 2}
    assert a.request_id != b.request_id
    assert [r.cold_start for r in emu.invocations] == [True, False]
    assert emu.invocations[0].init_ms is not None
    assert emu.invocations[1].init_ms is None
    assert "Init Duration" not in emu.invocations[1].report


def test_unknown_request_id_is_rejected_while_a_runtime_is_live(make_emulator):
    emu = make_emulator("sample_handler.echo")
    assert emu.invoke({}).ok  # the runtime is now idle in /next
    for kind in ("response", "error"):
        status, _, body = http_request(
            emu.runtime_api, "POST", f"{RUNTIME_API_PREFIX}/invocation/{uuid.uuid4()}/{kind}", b"{}"
        )
        assert status == 400, kind
        assert json.loads(body)["errorType"] == "InvalidRequestID"
    assert emu.invoke({"still": "works"}).json()["event"] == {"still": "works"}


def test_oversized_response_is_an_error_and_the_runtime_is_told_413(make_emulator):
    emu = make_emulator("sample_handler.big")
    doc = invoke_http_failing(emu, {"bytes": MAX_PAYLOAD_BYTES + 1024}, "Function.ResponseSizeTooLarge")
    assert str(MAX_PAYLOAD_BYTES) in doc["errorMessage"]
    assert emu.invocations[-1].status == lambda_emulator.OUTCOME_RESPONSE_TOO_LARGE
    # awslambdaric logs the status code it got for its response post.
    deadline = time.monotonic() + 5
    while b"413" not in emu.log_path.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b"413" in emu.log_path.read_bytes()

    # A response just under the limit goes through (awslambdaric crashed on the 413, so this
    # invoke is served by a fresh runtime).
    small = emu.invoke({"bytes": 1000})
    assert small.ok, small.payload
    assert small.json() == "x" * 1000


def test_invoke_payload_over_the_limit_is_refused(make_emulator):
    emu = make_emulator("sample_handler.echo")
    status, _, body = invoke_http(emu, b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert status == 413
    assert json.loads(body)["errorType"] == "RequestTooLargeException"
    with pytest.raises(PayloadTooLarge):
        emu.invoke(b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert emu.invocations == []


def test_runtime_crash_during_invocation(make_emulator):
    emu = make_emulator("sample_handler.crash")
    result = emu.invoke({"code": 3})
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in result.json()["errorMessage"]
    assert result.record.status == lambda_emulator.OUTCOME_RUNTIME_EXIT
    assert result.record.duration_ms is not None


def test_warm_runtime_killed_while_idle_is_replaced_for_the_next_invoke(make_emulator):
    emu = make_emulator("sample_handler.echo")
    first = emu.invoke({"n": 1})
    old_pid = first.json()["pid"]
    os.kill(old_pid, signal.SIGKILL)  # our own child, idle in /next
    # SIGKILL lands asynchronously; an event sent in that window would (rightly) fail with
    # Runtime.ExitError, so wait until the emulator has seen the exit.
    deadline = time.monotonic() + 5
    while emu.runtime_pid == old_pid and time.monotonic() < deadline:
        time.sleep(0.01)
    assert emu.runtime_pid is None
    second = emu.invoke({"n": 2})
    assert second.ok, second.payload
    assert second.json()["event"] == {"n": 2}
    assert second.json()["pid"] != old_pid
    assert second.record.cold_start is True and second.record.init_ms is not None


def test_report_line_uses_the_max_memory_callable(make_emulator):
    lines: list[str] = []
    emu = make_emulator("sample_handler.echo", memory_mb=1024, max_memory_mb=lambda: 77.2, log=lines.append)
    result = emu.invoke({})
    rid = result.request_id
    assert lines[0] == f"START RequestId: {rid} Version: $LATEST"
    assert lines[1] == f"END RequestId: {rid}"
    report = lines[2]
    assert report == result.record.report
    fields = report.split("\t")
    assert fields[0] == f"REPORT RequestId: {rid}"
    assert re.fullmatch(r"Duration: \d+\.\d\d ms", fields[1])
    assert re.fullmatch(r"Billed Duration: \d+ ms", fields[2])
    assert fields[3] == "Memory Size: 1024 MB"
    assert fields[4] == "Max Memory Used: 78 MB"
    assert re.fullmatch(r"Init Duration: \d+\.\d\d ms", fields[5])
    assert result.record.max_memory_mb == 77.2


def test_external_mode_calls_the_restart_hook_on_timeout(tmp_path):
    procs: list[subprocess.Popen] = []
    reasons: list[str] = []
    log = open(tmp_path / "external.log", "wb")
    emu = LambdaEmulator(None, handler="sample_handler.sleep", timeout=1, init_timeout=5, port=0)

    def start_runtime() -> None:
        env = dict(os.environ)
        env.update(emu.lambda_env(task_root=str(HERE)))
        env["PYTHONPATH"] = runtime_pythonpath()
        procs.append(
            subprocess.Popen(ric_command("sample_handler.sleep"), env=env, cwd=HERE, stdout=log, stderr=subprocess.STDOUT)
        )

    def restart(reason: str) -> None:
        reasons.append(reason)
        old = procs[-1]
        old.kill()
        old.wait(5)
        start_runtime()

    emu.restart_hook = restart
    try:
        emu.start()
        start_runtime()
        first = emu.invoke({"seconds": 0})
        assert first.ok, first.payload
        assert first.json()["pid"] == procs[0].pid
        assert first.record.cold_start is True and first.record.init_ms > 0

        slow = emu.invoke({"seconds": 5})
        assert slow.json()["errorType"] == "Sandbox.Timedout"
        assert reasons == ["timeout"]
        assert procs[0].poll() is not None

        after = emu.invoke({"seconds": 0})
        assert after.ok, after.payload
        assert after.json()["pid"] == procs[1].pid
        assert after.record.cold_start is True and after.record.init_ms is not None
    finally:
        emu.stop()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        log.close()


def test_external_mode_exit_report_fails_the_invocation_and_asks_for_a_restart():
    reasons: list[str] = []
    emu = LambdaEmulator(None, timeout=2, init_timeout=3, port=0, restart_hook=reasons.append).start()
    try:
        results: list = []
        t = threading.Thread(target=lambda: results.append(emu.invoke({"a": 1})))
        t.start()
        status, headers, _ = http_request(emu.runtime_api, "GET", f"{RUNTIME_API_PREFIX}/invocation/next")
        assert status == 200
        gen = emu.generation
        emu.notify_runtime_exited(137, generation=gen)
        t.join(10)
        assert results[0].function_error == "Unhandled"
        assert results[0].json()["errorType"] == "Runtime.ExitError"
        assert "exit status 137" in results[0].json()["errorMessage"]
        assert reasons == ["exit"]
        assert emu.generation > gen

        # A late report about the replaced runtime changes nothing for the new one.
        t = threading.Thread(target=lambda: results.append(emu.invoke({"a": 2})))
        t.start()
        status, headers, _ = http_request(emu.runtime_api, "GET", f"{RUNTIME_API_PREFIX}/invocation/next")
        assert status == 200
        emu.notify_runtime_exited(137, generation=gen)
        rid = headers["lambda-runtime-aws-request-id"]
        status, _, _ = http_request(emu.runtime_api, "POST", f"{RUNTIME_API_PREFIX}/invocation/{rid}/response", b'"fine"')
        assert status == 202
        t.join(10)
        assert results[1].ok and results[1].json() == "fine"
        assert reasons == ["exit"]
    finally:
        emu.stop()


def test_lambda_env_has_what_runtimes_and_powertools_read():
    env = lambda_env(
        "10.0.0.1:9001", handler="app.handler", function_name="f", memory_mb=2048, region="eu-west-1",
        extra={"POWERTOOLS_SERVICE_NAME": "svc"},
    )
    assert env["AWS_LAMBDA_RUNTIME_API"] == "10.0.0.1:9001"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "f"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "2048"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/f"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["_HANDLER"] == "app.handler"
    assert env["TZ"] == ":UTC"
    assert env["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"
    assert env["POWERTOOLS_SERVICE_NAME"] == "svc"
    assert all(isinstance(v, str) for v in env.values())


def test_cli_serves_the_invoke_endpoint(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in sys.path if p])
    cmd = [
        sys.executable, "-m", "tools.lambda_emulator", "--port", "0", "--timeout", "2", "--memory", "512",
        "--cwd", str(HERE), "--env", f"PYTHONPATH={runtime_pythonpath()}",
        "--", sys.executable, "-m", "awslambdaric", "sample_handler.echo",
    ]
    err = open(tmp_path / "cli.err", "wb")
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=err)
    try:
        line = proc.stdout.readline().decode()
        m = re.search(r"invoke_url=http://(127\.0\.0\.1:\d+)(/2015-03-31/functions/function/invocations)", line)
        assert m, (line, (tmp_path / "cli.err").read_text())
        status, headers, body = http_request(m[1], "POST", m[2], b'{"via": "cli"}')
        assert status == 200 and "x-amz-function-error" not in headers
        doc = json.loads(body)
        assert doc["event"] == {"via": "cli"}
        assert doc["memory_limit_in_mb"] == "512"
        runtime_pid = doc["pid"]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
        err.close()
    assert code == 0
    assert "REPORT RequestId: " in (tmp_path / "cli.err").read_text()
    deadline = time.monotonic() + 5
    while pid_alive(runtime_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(runtime_pid)
