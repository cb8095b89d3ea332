"""Structure of .github/workflows/deploy.yml: pinned actions, minimal permissions, and a deploy that
runs only after the tests, only on main, and only with the digest the build pushed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"
HANDOFF = "infra/envs/preprod/image.auto.tfvars.json"
PINNED_USES_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT_RE = re.compile(r"uses:\s*\S+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+){0,2}\s*$")
MAIN_PUSH_ONLY = ("github.event_name == 'push'", "github.ref == 'refs/heads/main'")
ALLOWED_PERMISSIONS = {"contents": {"read"}, "id-token": {"write"}}


def load() -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


WF = load()
JOBS: dict[str, dict[str, Any]] = WF["jobs"]


def steps(job: str) -> list[dict[str, Any]]:
    return JOBS[job]["steps"]


def step_index(job: str, predicate) -> int:
    matches = [i for i, s in enumerate(steps(job)) if predicate(s)]
    assert len(matches) == 1, f"{job}: expected one matching step, found {len(matches)}"
    return matches[0]


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def runs(step: dict[str, Any], fragment: str) -> bool:
    return fragment in str(step.get("run", ""))


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in JOBS.items() for step in job.get("steps", [])]


def pin_problems(reference: str) -> list[str]:
    if reference.startswith("./"):
        return []
    return [] if PINNED_USES_RE.match(reference) else [f"{reference} is not pinned to a full commit SHA"]


# --------------------------------------------------------------------------------------------------


def test_triggers_are_push_to_main_and_pull_requests_only() -> None:
    triggers = WF["on"]
    assert set(triggers) == {"push", "pull_request"}
    assert triggers["push"]["branches"] == ["main"]
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "pull_request_target" not in text and "workflow_run" not in text


def test_every_action_is_pinned_by_sha_with_a_version_comment() -> None:
    references = [str(step["uses"]) for _, step in all_steps() if "uses" in step]
    assert len(references) >= 8
    assert [p for r in references for p in pin_problems(r)] == []
    for number, line in enumerate(WORKFLOW.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(r"^\s*(-\s+)?uses:", line):
            assert VERSION_COMMENT_RE.search(line), f"deploy.yml:{number}: pinned SHA needs a '# vX.Y.Z' comment"
    by_action: dict[str, set[str]] = {}
    for reference in references:
        action, sha = reference.split("@")
        by_action.setdefault(action, set()).add(sha)
    assert {a: s for a, s in by_action.items() if len(s) > 1} == {}, "one action, one pin"


@pytest.mark.parametrize("reference", ["actions/checkout@v5", "actions/checkout@main", "actions/checkout@08c6903", "actions/checkout@08C6903CD8C0FDE910A37F88322EDCFB5DD907A8"])
def test_pin_checker_rejects_tags_branches_and_short_shas(reference: str) -> None:
    assert pin_problems(reference)


def test_permissions_are_minimal() -> None:
    assert WF["permissions"] == {}, "workflow-level permissions must be empty; jobs ask for their own"
    for name, job in JOBS.items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name} must declare its permissions"
        for scope, level in permissions.items():
            assert level in ALLOWED_PERMISSIONS.get(scope, set()), f"{name}: {scope}: {level} is not needed"
        assume_role = any(uses(s, "aws-actions/configure-aws-credentials") for s in job["steps"])
        assert (permissions.get("id-token") == "write") == assume_role, f"{name}: id-token: write exactly when it assumes an AWS role"


def test_checkouts_do_not_persist_credentials() -> None:
    checkouts = [(job, s) for job, s in all_steps() if uses(s, "actions/checkout")]
    assert len(checkouts) == len(JOBS)
    for job, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, job


def test_no_expression_is_expanded_inside_a_script() -> None:
    for job, step in all_steps():
        assert "${{" not in str(step.get("run", "")), f"{job}: {step.get('name')}: pass values through env:"


def test_jobs_have_timeouts_and_the_run_a_concurrency_group() -> None:
    assert WF["concurrency"]["group"]
    for name, job in JOBS.items():
        assert 0 < int(job["timeout-minutes"]) <= 120, name
    deploy_concurrency = JOBS["deploy-preprod"]["concurrency"]
    assert deploy_concurrency["cancel-in-progress"] is False


def test_build_job_caches_tests_then_pushes_on_main_only() -> None:
    job = "build-analysis-image"
    sysroot_cache = step_index(job, lambda s: uses(s, "actions/cache") and "sysroot-*" in s["with"]["path"])
    assert "hashFiles('tools/sysroot/**')" in steps(job)[sysroot_cache]["with"]["key"]
    assert "~/.cache/analysis-lambda-sysroot/" in steps(job)[sysroot_cache]["with"]["path"]
    repo_cache = step_index(job, lambda s: uses(s, "actions/cache") and "repository-cache" in s["with"]["path"])
    key = steps(job)[repo_cache]["with"]["key"]
    for lock in ("MODULE.bazel", "requirements_lock.txt", "requirements_test_lock.txt"):
        assert f"'{lock}'" in key, f"repository cache key ignores {lock}"

    test = step_index(job, lambda s: runs(s, "tools/bazel test //..."))
    test_step = steps(job)[test]
    assert re.search(r"tools/bazel test //\.\.\. --config=ci --config=remote-cache", test_step["run"])
    assert re.fullmatch(r"\$\{\{ (secrets|vars)\.BAZEL_REMOTE_CACHE_URL \}\}", test_step["env"]["BAZEL_REMOTE_CACHE_URL"])
    assert "if" not in test_step, "tests run on every event"

    credentials = step_index(job, lambda s: uses(s, "aws-actions/configure-aws-credentials"))
    push = step_index(job, lambda s: runs(s, "tools/bazel run //lambdas/analysis:push"))
    upload = step_index(job, lambda s: uses(s, "actions/upload-artifact"))
    assert max(sysroot_cache, repo_cache) < test < credentials < push < upload
    for index in (credentials, push, upload):
        condition = steps(job)[index].get("if", "")
        assert all(part in condition for part in MAIN_PUSH_ONLY), f"step {steps(job)[index]['name']} must run on pushes to main only"
    assert "role-to-assume" in steps(job)[credentials]["with"]
    assert steps(job)[upload]["with"]["path"] == HANDOFF
    assert steps(job)[upload]["with"]["if-no-files-found"] == "error"


def test_deploy_runs_after_the_tests_on_main_with_the_pushed_digest() -> None:
    job = "deploy-preprod"
    deploy = JOBS[job]
    needs = deploy["needs"] if isinstance(deploy["needs"], list) else [deploy["needs"]]
    assert "build-analysis-image" in needs, "the deploy is gated on the build job's tests"
    assert all(part in deploy["if"] for part in MAIN_PUSH_ONLY)
    assert deploy["environment"] == "preprod"
    assert deploy["defaults"]["run"]["working-directory"] == "infra/envs/preprod"

    upload_name = next(s for _, s in all_steps() if uses(s, "actions/upload-artifact"))["with"]["name"]
    download = step_index(job, lambda s: uses(s, "actions/download-artifact"))
    assert steps(job)[download]["with"] == {"name": upload_name, "path": str(Path(HANDOFF).parent)}
    setup = step_index(job, lambda s: uses(s, "hashicorp/setup-terraform"))
    credentials = step_index(job, lambda s: uses(s, "aws-actions/configure-aws-credentials"))
    init = step_index(job, lambda s: runs(s, "terraform init"))
    plan = step_index(job, lambda s: runs(s, "terraform plan"))
    apply = step_index(job, lambda s: runs(s, "terraform apply"))
    assert download < plan and setup < init and credentials < init < plan < apply
    plan_file = re.search(r"-out=(\S+)", steps(job)[plan]["run"]).group(1)
    assert re.search(rf"terraform apply .*\b{re.escape(plan_file)}\s*$", steps(job)[apply]["run"].strip()), "apply exactly the reviewed plan"
    assert "-auto-approve" not in steps(job)[apply]["run"]
    assert "-backend-config" in steps(job)[init]["run"]


def test_terraform_checks_gate_the_deploy_too() -> None:
    assert "terraform-checks" in JOBS["deploy-preprod"]["needs"]
    scripts = "\n".join(str(s.get("run", "")) for s in steps("terraform-checks"))
    for command in ("terraform fmt -check", "validate", "terraform -chdir=infra/modules/analysis_lambda test"):
        assert command in scripts, command


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
