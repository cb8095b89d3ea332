"""GitHub's file commands: the files a step gets ($GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_PATH, $GITHUB_STATE,
$GITHUB_STEP_SUMMARY) and what the runner reads back: NAME=VALUE lines and NAME<<DELIMITER heredocs."""

from __future__ import annotations

import uuid
from pathlib import Path


def file_command_paths(files_dir: Path) -> dict[str, str]:
    """A fresh set of file names for one step, as the runner names them: a step never sees the last one's lines."""
    command_id = uuid.uuid4()
    return {
        "GITHUB_OUTPUT": str(files_dir / f"set_output_{command_id}"),
        "GITHUB_ENV": str(files_dir / f"set_env_{command_id}"),
        "GITHUB_PATH": str(files_dir / f"add_path_{command_id}"),
        "GITHUB_STATE": str(files_dir / f"save_state_{command_id}"),
        "GITHUB_STEP_SUMMARY": str(files_dir / f"step_summary_{command_id}"),
    }


class FileCommandError(Exception):
    """A file the runner could not process: the step fails, as on GitHub."""


def parse_file_command(text: str) -> list[tuple[str, str]]:
    lines = text.replace("\r\n", "\n").split("\n")
    result: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            name, value = line[:eq], line[eq + 1:]
        elif heredoc >= 0:
            name, delimiter = line[:heredoc], line[heredoc + 2:]
            if not delimiter:
                raise FileCommandError(f"empty heredoc delimiter in {line!r}")
            body = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise FileCommandError(f"matching delimiter {delimiter!r} not found for {name!r}")
            i += 1
            value = "\n".join(body)
        else:
            raise FileCommandError(f"invalid format {line!r}")
        if not name:
            raise FileCommandError(f"empty name in {line!r}")
        result.append((name, value))
    return result


def parse_path_file(text: str) -> list[str]:
    """$GITHUB_PATH: one directory a line, blank lines ignored."""
    return [line.strip() for line in text.splitlines() if line.strip()]
