"""Command line: serve one emulated Lambda function until interrupted.

    python -m tools.lambda_emulator --port 9001 --timeout 30 --memory 2048 -- \
        python3 -m awslambdaric module.handler
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from .emulator import LambdaEmulator


def _parse_env(pairs: Sequence[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env expects KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.lambda_emulator",
        description="Local AWS Lambda Runtime API emulator with an RIE-style invoke endpoint.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9001, help="port to bind; 0 picks a free one (default 9001)")
    p.add_argument("--timeout", type=float, default=3.0, help="function timeout in seconds (default 3)")
    p.add_argument("--init-timeout", type=float, default=10.0, help="seconds a runtime may take to reach /next (default 10)")
    p.add_argument(
        "--memory", dest="memory_mb", metavar="MEMORY", type=int, default=128,
        help="AWS_LAMBDA_FUNCTION_MEMORY_SIZE in MB (default 128)",
    )
    p.add_argument("--function-name", default="function")
    p.add_argument("--handler", default=None, help="_HANDLER (default: the command's last argument)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--cwd", default=None, help="working directory of the runtime process")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra environment for the runtime")
    p.add_argument("--eager", action="store_true", help="start the runtime now instead of on the first invoke")
    p.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="runtime command after '--'; without one the emulator waits for an external runtime",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # Every option but these two is named after the LambdaEmulator keyword it sets.
    options = vars(build_parser().parse_args(argv))
    command = list(options.pop("command"))
    if command and command[0] == "--":
        command = command[1:]
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    env = _parse_env(options.pop("env"))
    emulator = LambdaEmulator(command or None, env=env, **options)
    done = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator.start()
    try:
        print(
            f"lambda-emulator ready: invoke_url={emulator.invoke_url} runtime_api={emulator.runtime_api}",
            flush=True,
        )
        while not done.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
