"""Structure of .github/workflows/deploy.yml: pinned actions, minimal permissions, tests through .ci/run, root-owned
caches through tools/sysroot/archive.sh, and a deploy that runs only after the tests, only on main, applying exactly
the plan it saved, with the digest the push job pushed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"
WORKFLOW_TEXT = WORKFLOW.read_text(encoding="utf-8")
HANDOFF = "infra/envs/preprod/image.auto.tfvars.json"
PREPROD = "infra/envs/preprod"
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PINNED_USES_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT_RE = re.compile(r"uses:\s*\S+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+){0,2}\s*$")
MAIN_PUSH_ONLY = ("github.event_name == 'push'", "github.ref == 'refs/heads/main'")
ALLOWED_PERMISSIONS = {"contents": {"read"}, "id-token": {"write"}}
# archive.sh runs as root, and sudo resets the environment: the cache location is passed on explicitly.
ARCHIVE_SH = 'sudo env TOOLS_BAZEL_SYSROOT_CACHE="$TOOLS_BAZEL_SYSROOT_CACHE" bash tools/sysroot/archive.sh'
CACHE_DIR = "ci-cache"  # under runner.temp: the same path on every runner, so save and restore match


def load() -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW_TEXT)
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


def step_by_id(job: str, step_id: str) -> int:
    return step_index(job, lambda s: s.get("id") == step_id)


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def runs(step: dict[str, Any], fragment: str) -> bool:
    return fragment in str(step.get("run", ""))


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in JOBS.items() for step in job.get("steps", [])]


def needs(job: str) -> list[str]:
    value = JOBS[job].get("needs", [])
    return value if isinstance(value, list) else [value]


def pin_problems(reference: str) -> list[str]:
    if reference.startswith("./"):
        return []
    return [] if PINNED_USES_RE.match(reference) else [f"{reference} is not pinned to a full commit SHA"]


def code(step: dict[str, Any]) -> str:
    """A step's script without its comment lines."""
    return "\n".join(line for line in str(step.get("run", "")).splitlines() if not line.lstrip().startswith("#"))


def condition(step_or_job: dict[str, Any]) -> str:
    return str(step_or_job.get("if", ""))


# --------------------------------------------------------------------------------------------------


def test_triggers_are_push_to_main_and_pull_requests_only() -> None:
    triggers = WF["on"]
    assert set(triggers) == {"push", "pull_request"}
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request_target" not in WORKFLOW_TEXT and "workflow_run" not in WORKFLOW_TEXT


def test_jobs_and_their_order() -> None:
    assert set(JOBS) == {"build", "push", "terraform-checks", "plan", "apply"}
    assert needs("build") == [] and needs("terraform-checks") == []
    assert needs("push") == ["build"], "the tests gate the push"
    assert set(needs("plan")) == {"push", "terraform-checks"}
    assert needs("apply") == ["plan"]
    assert "if" not in JOBS["build"] and "if" not in JOBS["terraform-checks"], "tests and checks run on every event"
    for job in ("push", "plan", "apply"):
        assert all(part in condition(JOBS[job]) for part in MAIN_PUSH_ONLY), f"{job} runs on pushes to main only"


def test_every_action_is_pinned_by_sha_with_a_version_comment() -> None:
    references = [str(step["uses"]) for _, step in all_steps() if "uses" in step]
    assert len(references) >= 8
    assert [p for r in references for p in pin_problems(r)] == []
    for number, line in enumerate(WORKFLOW_TEXT.splitlines(), start=1):
        if re.match(r"^\s*(-\s+)?uses:", line):
            assert VERSION_COMMENT_RE.search(line), f"deploy.yml:{number}: pinned SHA needs a '# vX.Y.Z' comment"
    by_action: dict[str, set[str]] = {}
    for reference in references:
        action, sha = reference.split("@")
        by_action.setdefault(action, set()).add(sha)
    assert {a: s for a, s in by_action.items() if len(s) > 1} == {}, "one action, one pin"
    # restore and save are sub-actions of the actions/cache repository: one pin for the repository.
    cache_pins = {sha for action, shas in by_action.items() if action.startswith("actions/cache") for sha in shas}
    assert len(cache_pins) == 1, cache_pins


@pytest.mark.parametrize("reference", ["actions/checkout@v5", "actions/checkout@main", "actions/checkout@08c6903", "actions/checkout@08C6903CD8C0FDE910A37F88322EDCFB5DD907A8"])
def test_pin_checker_rejects_tags_branches_and_short_shas(reference: str) -> None:
    assert pin_problems(reference)


def test_permissions_are_minimal_and_only_push_plan_and_apply_get_a_token() -> None:
    assert WF["permissions"] == {}, "workflow-level permissions must be empty; jobs ask for their own"
    for name, job in JOBS.items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name} must declare its permissions"
        for scope, level in permissions.items():
            assert level in ALLOWED_PERMISSIONS.get(scope, set()), f"{name}: {scope}: {level} is not needed"
        assume_role = any(uses(s, "aws-actions/configure-aws-credentials") for s in job["steps"])
        assert (permissions.get("id-token") == "write") == assume_role, f"{name}: id-token: write exactly when it assumes an AWS role"
    with_token = {name for name, job in JOBS.items() if job["permissions"].get("id-token") == "write"}
    assert with_token == {"push", "plan", "apply"}
    assert JOBS["build"]["permissions"] == {"contents": "read"}, "the job running unreviewed pull-request code gets nothing else"


def test_checkouts_do_not_persist_credentials() -> None:
    checkouts = [(job, s) for job, s in all_steps() if uses(s, "actions/checkout")]
    assert len(checkouts) == len(JOBS)
    for job, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, job


def test_no_expression_is_expanded_inside_a_script() -> None:
    for job, step in all_steps():
        assert "${{" not in str(step.get("run", "")), f"{job}: {step.get('name')}: pass values through env:"


def test_concurrency_matches_its_comment() -> None:
    concurrency = WF["concurrency"]
    # One group per ref: all of main's runs share one group, each pull request has its own.
    assert "${{ github.ref }}" in concurrency["group"]
    # Pull requests cancel their running run; main never does (no push or apply is interrupted halfway).
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    # GitHub keeps one pending run per group and cancels an older pending one: the comment must say so.
    comment = WORKFLOW_TEXT.split("\nconcurrency:")[0].rsplit("\n\n", 1)[-1]
    assert "https://docs.github.com/en/actions/using-jobs/using-concurrency" in comment
    assert "one pending" in comment and "dropped" in comment, comment
    apply_concurrency = JOBS["apply"]["concurrency"]
    assert apply_concurrency["cancel-in-progress"] is False


def test_jobs_have_timeouts() -> None:
    for name, job in JOBS.items():
        assert 0 < int(job["timeout-minutes"]) <= 120, name


def test_pip_reaches_the_pytorch_cpu_index_wherever_tools_bazel_runs() -> None:
    assert WF["env"]["PIP_EXTRA_INDEX_URL"] == PYTORCH_CPU_INDEX
    for name, job in JOBS.items():
        assert "PIP_EXTRA_INDEX_URL" not in job.get("env", {}), f"{name} overrides the PyTorch CPU index"
        for step in job["steps"]:
            assert "PIP_EXTRA_INDEX_URL" not in step.get("env", {}), f"{name}: {step.get('name')} overrides it"


def test_build_job_tests_through_the_ci_entry_point() -> None:
    test = step_index("build", lambda s: runs(s, ".ci/run"))
    step = steps("build")[test]
    assert "if" not in step, "tests run on every event"
    assert re.search(r"^\.ci/run \"\$\{flags\[@\]\}\"$", step["run"], re.M), step["run"]
    assert "flags=(--config=ci)" in step["run"]
    # Pull requests never write the remote cache; .ci/run puts these flags after its --config=remote-cache.
    assert re.search(r'if \[ "\$EVENT_NAME" != push \]; then flags\+=\(--noremote_upload_local_results\); fi', step["run"])
    assert step["env"]["EVENT_NAME"] == "${{ github.event_name }}"
    assert re.fullmatch(r"\$\{\{ (secrets|vars)\.BAZEL_REMOTE_CACHE_URL \}\}", step["env"]["BAZEL_REMOTE_CACHE_URL"])
    assert "remote-cache" not in code(step), ".ci/run decides about --config=remote-cache"
    assert not [s["name"] for _, s in all_steps() if "tools/bazel test" in code(s)], "tests run through .ci/run only"


def test_remote_cache_config_only_when_its_url_is_set() -> None:
    """tools/bazel stops on --config=remote-cache without BAZEL_REMOTE_CACHE_URL (pull requests from forks)."""
    guarded = re.compile(r'^\s*if \[ -n "\$BAZEL_REMOTE_CACHE_URL" \]; then (\w+)=\(--config=remote-cache\); fi$')
    for job, step in all_steps():
        script = code(step)
        for line in script.splitlines():
            if "--config=remote-cache" in line:
                assert guarded.match(line), f"{job}: {step.get('name')}: unconditional --config=remote-cache: {line}"
        if "tools/bazel " in script:
            assert step["env"]["BAZEL_REMOTE_CACHE_URL"].endswith(".BAZEL_REMOTE_CACHE_URL }}"), step.get("name")


# --- caches -----------------------------------------------------------------------------------------------------


def cache_pairs(job: str) -> dict[str, tuple[int, int]]:
    """kind ("restore" / "restore-bazel-caches") -> (index of its actions/cache/restore step, index of its unpack step)."""
    pairs = {}
    for index, step in enumerate(steps(job)):
        if not uses(step, "actions/cache/restore"):
            continue
        unpack = index + 1
        script = steps(job)[unpack].get("run", "")
        match = re.search(re.escape(ARCHIVE_SH) + r' (restore|restore-bazel-caches) "\$RUNNER_TEMP/' + CACHE_DIR + r'/([\w.-]+)"', script)
        assert match, f"{job}: the step after {step['name']} must unpack its archive with archive.sh under sudo"
        assert step["with"]["path"] == f"${{{{ runner.temp }}}}/{CACHE_DIR}/{match.group(2)}", "unpack what was restored"
        assert f"steps.{step['id']}.outputs." in condition(steps(job)[unpack]), "unpack only what was restored"
        pairs[match.group(1)] = (index, unpack)
    return pairs


def test_no_job_uses_the_combined_cache_action() -> None:
    """actions/cache saves as the runner user and (v4) only on success: restore and save are separate steps."""
    assert [s["name"] for _, s in all_steps() if uses(s, "actions/cache")] == []


@pytest.mark.parametrize("job", ["build", "push"])
def test_caches_are_restored_as_root_before_bazel_runs(job: str) -> None:
    pairs = cache_pairs(job)
    assert set(pairs) == {"restore", "restore-bazel-caches"}
    disk = step_index(job, lambda s: runs(s, "TOOLS_BAZEL_SYSROOT_CACHE=") and runs(s, "GITHUB_ENV"))
    keys = step_by_id(job, "keys")
    assert re.search(r"bash tools/sysroot/archive\.sh key\)", steps(job)[keys]["run"])
    first_bazel = min(i for i, s in enumerate(steps(job)) if runs(s, "tools/bazel ") or runs(s, ".ci/run"))
    assert disk < keys < pairs["restore"][0] < pairs["restore"][1] < first_bazel
    assert pairs["restore-bazel-caches"][1] < first_bazel

    sysroot = steps(job)[pairs["restore"][0]]
    assert sysroot["with"]["key"] == "analysis-sysroot-${{ runner.os }}-${{ steps.keys.outputs.sysroot }}"
    assert "restore-keys" not in sysroot["with"], "only the sysroot of this exact definition"
    assert condition(steps(job)[pairs["restore"][1]]) == f"steps.{sysroot['id']}.outputs.cache-hit == 'true'"

    # Bazel's caches: tied to the sysroot (its Python built the wheels in external/), newest run first.
    caches = steps(job)[pairs["restore-bazel-caches"][0]]
    prefix = "bazel-caches-${{ runner.os }}-${{ steps.keys.outputs.sysroot }}-"
    assert caches["with"]["key"] == prefix + "${{ github.sha }}"
    assert caches["with"]["restore-keys"].strip() == prefix, "content-addressed or marker-checked: an older one is a fine start"
    # The output base is named after the checkout's path: the same workspace on both sides.
    assert steps(job)[pairs["restore-bazel-caches"][1]]["run"].split("\n")[0].rstrip().endswith('"$GITHUB_WORKSPACE"')


def test_push_job_prepares_its_runner_exactly_as_the_build_job() -> None:
    """Same disk, same keys, same restores: the push job rebuilds from the caches the build job saved."""

    def preparation(job: str) -> list[dict[str, Any]]:
        first_bazel = min(i for i, s in enumerate(steps(job)) if runs(s, "tools/bazel ") or runs(s, ".ci/run"))
        return [{**s, "run": code(s)} if "run" in s else s for s in steps(job)[:first_bazel]]

    assert preparation("push") == preparation("build")


def test_build_job_saves_its_caches_as_root_from_main_only_when_the_restore_missed() -> None:
    job = "build"
    pairs = cache_pairs(job)
    test = step_index(job, lambda s: runs(s, ".ci/run"))
    for kind, save_kind in (("restore", "save"), ("restore-bazel-caches", "save-bazel-caches")):
        restore = steps(job)[pairs[kind][0]]
        pack = step_index(job, lambda s, k=save_kind: re.search(re.escape(ARCHIVE_SH) + f" {k} ", str(s.get("run", ""))))
        pack_step = steps(job)[pack]
        path = restore["with"]["path"].replace("${{ runner.temp }}", "$RUNNER_TEMP")
        assert f'"{path}"' in pack_step["run"], "pack to the path that is saved"
        save = step_index(job, lambda s, p=restore["with"]["path"]: uses(s, "actions/cache/save") and s["with"]["path"] == p)
        save_step = steps(job)[save]
        assert test < pack < save
        # Saved even after a failed test (the caches do not depend on the result), never when cancelled.
        for part in ("!cancelled()", "github.event_name == 'push'", f"steps.{restore['id']}.outputs.cache-hit != 'true'"):
            assert part in condition(pack_step), f"{pack_step['name']}: missing {part}"
        assert pack_step.get("continue-on-error") is True, "a cache problem must not block the push and the deploy"
        assert "!cancelled()" in condition(save_step)
        assert f"steps.{pack_step['id']}.outcome == 'success'" in condition(save_step)
        assert save_step["with"]["key"] == f"${{{{ steps.{restore['id']}.outputs.cache-primary-key }}}}"
    assert not any(uses(s, "actions/cache/save") for s in steps("push")), "the build job alone writes the caches"


# --- push, plan, apply ------------------------------------------------------------------------------------------


def test_push_job_builds_before_it_has_credentials_then_pushes_and_hands_off_the_digest() -> None:
    job = "push"
    build = step_index(job, lambda s: runs(s, "tools/bazel build //lambdas/analysis:push"))
    credentials = step_index(job, lambda s: uses(s, "aws-actions/configure-aws-credentials"))
    push = step_index(job, lambda s: runs(s, "tools/bazel run //lambdas/analysis:push"))
    upload = step_index(job, lambda s: uses(s, "actions/upload-artifact"))
    assert build < credentials < push < upload
    assert steps(job)[credentials]["with"]["role-to-assume"] == "${{ vars.AWS_ECR_PUSH_ROLE_ARN }}"
    assert steps(job)[upload]["with"]["path"] == HANDOFF
    assert steps(job)[upload]["with"]["if-no-files-found"] == "error"

    def flags(step: dict[str, Any]) -> str:
        return re.search(r'//lambdas/analysis:push (--config=ci --stamp "\$\{remote\[@\]\}")', step["run"]).group(1)

    # --stamp: only the pushed image carries the revision label (tools/oci stamps nothing unasked).
    assert flags(steps(job)[build]) == flags(steps(job)[push]), "same flags, so run reuses what build built"


def test_plan_job_saves_the_plan_it_makes() -> None:
    job = "plan"
    plan_job = JOBS[job]
    assert plan_job["defaults"]["run"]["working-directory"] == PREPROD
    assert "environment" not in plan_job, "planning needs no approval; the apply does"
    upload_name = next(s for _, s in all_steps() if uses(s, "actions/upload-artifact") and s["with"]["path"] == HANDOFF)["with"]["name"]
    download = step_index(job, lambda s: uses(s, "actions/download-artifact"))
    assert steps(job)[download]["with"] == {"name": upload_name, "path": PREPROD}
    setup = step_index(job, lambda s: uses(s, "hashicorp/setup-terraform"))
    credentials = step_index(job, lambda s: uses(s, "aws-actions/configure-aws-credentials"))
    init = step_index(job, lambda s: runs(s, "terraform init"))
    plan = step_index(job, lambda s: runs(s, "terraform plan"))
    upload = step_index(job, lambda s: uses(s, "actions/upload-artifact"))
    assert download < plan and setup < init and credentials < init < plan < upload
    # Not the deploy role: that one is for the approved apply only.
    role = steps(job)[credentials]["with"]["role-to-assume"]
    assert role != "${{ vars.AWS_DEPLOY_ROLE_ARN }}" and role.startswith("${{ vars.")
    plan_file = re.search(r"-out=(\S+)", steps(job)[plan]["run"]).group(1)
    uploaded = steps(job)[upload]["with"]
    assert set(uploaded["path"].split()) == {f"{PREPROD}/{plan_file}", f"{PREPROD}/.terraform.lock.hcl"}
    assert uploaded["include-hidden-files"] is True, "the lock file is a dot file"
    assert uploaded["if-no-files-found"] == "error"
    assert 1 <= int(uploaded["retention-days"]) <= 7, "a plan holds a copy of the state: keep it briefly"


def test_apply_job_applies_exactly_the_saved_plan_in_environment_preprod() -> None:
    job = "apply"
    apply_job = JOBS[job]
    assert apply_job["environment"] == "preprod"
    assert apply_job["defaults"] == JOBS["plan"]["defaults"], "same working directory as the plan"
    plan_upload = next(s for s in steps("plan") if uses(s, "actions/upload-artifact"))["with"]
    download = step_index(job, lambda s: uses(s, "actions/download-artifact"))
    assert steps(job)[download]["with"] == {"name": plan_upload["name"], "path": PREPROD}
    setup = step_index(job, lambda s: uses(s, "hashicorp/setup-terraform"))
    plan_setup = next(s for s in steps("plan") if uses(s, "hashicorp/setup-terraform"))
    assert steps(job)[setup]["with"] == plan_setup["with"], "same Terraform version"
    credentials = step_index(job, lambda s: uses(s, "aws-actions/configure-aws-credentials"))
    assert steps(job)[credentials]["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    init = step_index(job, lambda s: runs(s, "terraform init"))
    plan_init = next(s for s in steps("plan") if runs(s, "terraform init"))
    assert steps(job)[init]["run"] == plan_init["run"], "init again with the same backend configuration"
    assert "-backend-config" in plan_init["run"]
    assert apply_job["env"]["TF_STATE_BUCKET"] == JOBS["plan"]["env"]["TF_STATE_BUCKET"]
    apply = step_index(job, lambda s: runs(s, "terraform apply"))
    assert download < init < apply and setup < init and credentials < init
    plan_step = next(s for s in steps("plan") if runs(s, "terraform plan"))
    plan_file = re.search(r"-out=(\S+)", plan_step["run"]).group(1)
    assert re.fullmatch(rf"terraform apply -input=false -lock-timeout=\S+ {re.escape(plan_file)}", steps(job)[apply]["run"].strip())
    assert not any(runs(s, "terraform plan") for s in steps(job)), "never a fresh plan at apply time"
    assert not any(k.startswith("TF_VAR_") for k in apply_job["env"]), "the saved plan carries its variables"


def test_terraform_checks_gate_the_deploy_too() -> None:
    assert "terraform-checks" in needs("plan")
    scripts = "\n".join(str(s.get("run", "")) for s in steps("terraform-checks"))
    for command in ("terraform fmt -check", "validate", "terraform -chdir=infra/modules/analysis_lambda test"):
        assert command in scripts, command
