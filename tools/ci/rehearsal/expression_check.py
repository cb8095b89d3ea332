"""Parses every ${{ }} and if: a job can reach before anything runs, so that an expression the evaluator does not
understand stops the rehearsal up front instead of in the middle of the job."""

from __future__ import annotations

import re
from typing import Any

from .expression_syntax import ExpressionError, parse_condition, parse_expression, split_template


def check_expressions(workflow: dict, job_id: str) -> list[str]:
    """Every ${{ }} and if: of the workflow's env and of the job, parsed before anything runs: what this evaluator
    does not understand stops the rehearsal up front instead of in the middle of the job."""
    problems: list[str] = []

    def walk(value: Any, where: str, is_condition: bool = False) -> None:
        try:
            if is_condition:
                parse_condition(value)
            elif isinstance(value, str) and "${{" in value:
                for kind, part in split_template(value):
                    if kind == "expr":
                        parse_expression(part)
        except ExpressionError as e:
            problems.append(f"{where}: {e}")
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}",
                     is_condition=key == "if" and re.fullmatch(r"jobs\.[^.]+(\.steps\[\d+\])?", where) is not None)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")

    walk(workflow.get("env") or {}, "env")
    walk(workflow["jobs"][job_id], f"jobs.{job_id}")
    return problems
