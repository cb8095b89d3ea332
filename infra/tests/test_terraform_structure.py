"""Static checks of the Terraform under infra/, parsed with python-hcl2 (no Terraform binary needed).

Two distributions install the import name ``hcl2``: python-hcl2 (8.x: string literals keep their
quotes, attributes are bare values) and checkov's fork bc-python-hcl2 (attributes wrapped in
one-element lists, literals unquoted). Whichever one is importable, :func:`parse` normalises its
output to one shape, so these checks mean the same thing under both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MODULE = INFRA / "modules" / "analysis_lambda"
PREPROD = INFRA / "envs" / "preprod"
HANDOFF_EXAMPLE = PREPROD / "image.auto.tfvars.json.example"

DIGEST_PATTERN = "^sha256:[0-9a-f]{64}$"
# MODEL_SHA256: what lambdas/shared/settings.py accepts (lower-cased) and //tools/model:publish prints.
SHA256_PATTERN = "^[0-9a-f]{64}$"
# Data-plane prefixes: their actions must never be wildcards nor apply to "*".
DATA_PREFIXES = ("s3:", "dynamodb:", "sqs:")
# AWS accepts only "*" as the resource of these (no resource-level permissions); they write traces.
STAR_RESOURCE_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# -1 is the AWS provider's "no reservation"; any positive default fails in accounts at the
# unreserved-concurrency minimum ("decreases account's UnreservedConcurrentExecution below its minimum").
UNRESERVED = -1
# The only resources the deploy role's KMS policy may name: the module's key and its alias.
DEPLOY_KMS_RESOURCES = {"${local.kms_key_arn}", "${local.kms_alias_arn}"}

# --------------------------------------------------------------------------------------------------
# Parsing and normalisation
# --------------------------------------------------------------------------------------------------


def _detect_flavor() -> str:
    probe = hcl2.loads('a = "x"\n')
    return "wrapped" if isinstance(probe["a"], list) else "quoted"


FLAVOR = _detect_flavor()


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def _normalise(node: Any) -> Any:
    if isinstance(node, dict):
        return {_unquote(k): _normalise(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    if isinstance(node, str) and FLAVOR == "quoted":
        return _unquote(node)
    return node


def parse_text(text: str) -> dict[str, Any]:
    return _normalise(hcl2.loads(text))


def parse(path: Path) -> dict[str, Any]:
    return parse_text(path.read_text(encoding="utf-8"))


_MISSING = object()


def attr(body: dict[str, Any], name: str, default: Any = _MISSING) -> Any:
    """Value of attribute ``name`` of a block body, the same under both parser flavours."""
    if name not in body:
        if default is _MISSING:
            raise KeyError(f"attribute {name!r} missing (have {sorted(body)})")
        return default
    value = body[name]
    if FLAVOR == "wrapped" and isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Nested blocks ``name`` of a block body (static blocks plus the content of dynamic ones)."""
    found = [b for b in body.get(name, []) if isinstance(b, dict)]
    for dyn in body.get("dynamic", []):
        for label, dyn_body in dyn.items():
            if label == name:
                found.extend(c for c in dyn_body.get("content", []) if isinstance(c, dict))
    return found


def tf_files() -> list[Path]:
    return sorted(p for p in INFRA.rglob("*.tf") if ".terraform" not in p.parts)


def labelled(doc: dict[str, Any], kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of every ``resource`` or ``data`` block of a parsed file."""
    for entry in doc.get(kind, []):
        for type_, named in entry.items():
            for name, body in named.items():
                yield type_, name, body


PARSED: dict[Path, dict[str, Any]] = {path: parse(path) for path in tf_files()}


def all_of(kind: str, type_: str, root: Path = INFRA) -> list[tuple[Path, str, dict[str, Any]]]:
    return [
        (path, name, body)
        for path, doc in PARSED.items()
        if path.is_relative_to(root)
        for t, name, body in labelled(doc, kind)
        if t == type_
    ]


def one(kind: str, type_: str, name: str, root: Path = MODULE) -> dict[str, Any]:
    matches = [body for _, n, body in all_of(kind, type_, root) if n == name]
    assert len(matches) == 1, f"expected exactly one {kind} {type_}.{name} under {root}, found {len(matches)}"
    return matches[0]


def variables(root: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path, doc in PARSED.items():
        if path.parent != root:
            continue
        for entry in doc.get("variable", []):
            for name, body in entry.items():
                assert name not in found, f"variable {name} declared twice in {root}"
                found[name] = body
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------------------------------
# Checkers (pure functions, exercised on bad input below so they are known to be able to fail)
# --------------------------------------------------------------------------------------------------


def image_uri_problems(image_uri: str) -> list[str]:
    problems = []
    if "@" not in image_uri:
        problems.append("image_uri has no '@': not pinned by digest")
    if "var.image_digest" not in image_uri:
        problems.append("image_uri does not use var.image_digest")
    if ":latest" in image_uri or re.search(r"\}:\$\{|:[A-Za-z0-9_.-]+$", image_uri):
        problems.append("image_uri uses a tag")
    if not re.fullmatch(r"\$\{[^{}]+\}@\$\{var\.image_digest\}", image_uri):
        problems.append(f"image_uri is not <repository>@<digest>: {image_uri!r}")
    return problems


def statement_problems(doc_name: str, statement: dict[str, Any]) -> list[str]:
    problems = []
    actions = [str(a) for a in as_list(attr(statement, "actions", []))]
    resources = [str(r) for r in as_list(attr(statement, "resources", []))]
    if attr(statement, "not_actions", None) or attr(statement, "not_resources", None):
        problems.append(f"{doc_name}: NotAction/NotResource widen a policy implicitly")
    for action in actions:
        if action == "*" or re.fullmatch(r"[A-Za-z0-9-]+:\*", action):
            problems.append(f"{doc_name}: wildcard action {action!r}")
        if action.startswith(DATA_PREFIXES) and "*" in action:
            problems.append(f"{doc_name}: wildcard data action {action!r}")
    data_actions = [a for a in actions if a.startswith(DATA_PREFIXES)]
    if data_actions:
        if not resources:
            problems.append(f"{doc_name}: data actions {data_actions} without explicit resources")
        for resource in resources:
            if resource.strip() == "*" or re.fullmatch(r"arn:[^:]*:(s3|dynamodb|sqs):[^:]*:[^:]*:\*", resource):
                problems.append(f"{doc_name}: data actions {data_actions} on {resource!r}")
    return problems


def policy_statements() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.relative_to(INFRA)}:{name}", statement)
        for path, name, body in all_of("data", "aws_iam_policy_document")
        for statement in blocks(body, "statement")
    ]


def reserved_concurrency_problems(default: Any, conditions: list[str]) -> list[str]:
    """The variable must default to "no reservation" and its validation must refuse 0 and below -1."""
    problems = []
    if default != UNRESERVED:
        problems.append(f"default is {default!r}: a reservation by default fails in accounts near the unreserved minimum; use -1")
    if not any(re.search(r"==\s*-1\b", c) and re.search(r">=\s*1\b", c) for c in conditions):
        problems.append(f"validation must allow exactly -1 or >= 1 (0 throttles every invocation): {conditions}")
    return problems


def kms_statement_problems(doc_name: str, statement: dict[str, Any], allowed: set[str]) -> list[str]:
    """A statement granting kms: actions must name explicit resources, all of them in ``allowed``."""
    actions = [str(a) for a in as_list(attr(statement, "actions", []))]
    resources = [str(r) for r in as_list(attr(statement, "resources", []))]
    if not any(a.startswith("kms:") for a in actions):
        return []
    problems = [f"{doc_name}: wildcard KMS action {a!r}" for a in actions if "*" in a]
    if attr(statement, "not_resources", None) or not resources:
        problems.append(f"{doc_name}: KMS actions {actions} without explicit resources")
    problems += [f"{doc_name}: KMS actions on {r!r}" for r in resources if "*" in r or r not in allowed]
    return problems


# --------------------------------------------------------------------------------------------------
# Layout and parsing
# --------------------------------------------------------------------------------------------------


def test_every_terraform_file_parses_and_the_layout_is_complete() -> None:
    names = {p.relative_to(INFRA).as_posix() for p in PARSED}
    for required in [
        *(f"modules/analysis_lambda/{f}.tf" for f in ["versions", "variables", "outputs", "main", "ecr", "lambda", "iam", "triggers", "alarms", "kms", "deploy_role"]),
        *(f"envs/preprod/{f}.tf" for f in ["versions", "providers", "main", "variables", "outputs"]),
    ]:
        assert required in names, f"missing infra/{required}"
    assert all(isinstance(doc, dict) and doc for doc in PARSED.values())


def test_every_variable_has_a_description_and_a_type() -> None:
    roots = {path.parent for path in PARSED}
    checked = 0
    for root in roots:
        for name, body in variables(root).items():
            where = f"{root.relative_to(INFRA)}: variable {name}"
            description = attr(body, "description", None)
            assert isinstance(description, str) and description.strip(), f"{where} has no description"
            assert attr(body, "type", None), f"{where} has no type"
            checked += 1
    assert checked >= 40, f"only {checked} variables found: is the parser reading the files?"


def test_every_output_has_a_description() -> None:
    for path, doc in PARSED.items():
        for entry in doc.get("output", []):
            for name, body in entry.items():
                assert attr(body, "description", None), f"{path.relative_to(INFRA)}: output {name} has no description"


def test_versions_pin_terraform_and_the_aws_provider() -> None:
    for root in (MODULE, PREPROD):
        (terraform,) = PARSED[root / "versions.tf"]["terraform"]
        assert attr(terraform, "required_version").startswith(">= 1."), root
        (providers,) = blocks(terraform, "required_providers")
        aws = attr(providers, "aws")
        assert aws["source"] == "hashicorp/aws"
        assert re.fullmatch(r"~> 5\.\d+", aws["version"]), f"{root}: aws provider must be pinned to ~> 5.x, got {aws['version']!r}"


def test_preprod_backend_is_a_partial_s3_configuration() -> None:
    (terraform,) = PARSED[PREPROD / "versions.tf"]["terraform"]
    (backend,) = blocks(terraform, "backend")
    assert list(backend) == ["s3"], "preprod state must live in the S3 backend"
    assert backend["s3"] in ({}, [{}]), "backend settings are supplied at init (-backend-config), not committed"


# --------------------------------------------------------------------------------------------------
# Function
# --------------------------------------------------------------------------------------------------


def lambda_function() -> dict[str, Any]:
    return one("resource", "aws_lambda_function", "this")


def test_image_uri_is_repository_at_digest() -> None:
    functions = all_of("resource", "aws_lambda_function")
    assert functions, "no aws_lambda_function found"
    for path, name, body in functions:
        assert attr(body, "package_type") == "Image", f"{path}:{name}"
        assert image_uri_problems(attr(body, "image_uri")) == []
    text = "\n".join(p.read_text(encoding="utf-8") for p in PARSED)
    assert ":latest" not in text


@pytest.mark.parametrize("root", [MODULE, PREPROD], ids=["module", "preprod"])
def test_image_digest_variable_is_validated_with_the_digest_regex(root: Path) -> None:
    digest = variables(root)["image_digest"]
    conditions = [attr(v, "condition") for v in blocks(digest, "validation")]
    assert any(DIGEST_PATTERN in c and "var.image_digest" in c for c in conditions), conditions
    pattern = re.compile(DIGEST_PATTERN)
    assert pattern.match("sha256:" + "a" * 64) and not pattern.match("latest") and not pattern.match("sha256:" + "A" * 64)


def test_function_sizing_and_runtime_settings() -> None:
    fn = lambda_function()
    module_vars = variables(MODULE)
    assert attr(fn, "architectures") == ["x86_64"]
    assert attr(fn, "memory_size") == "${var.memory_size}"
    assert attr(module_vars["memory_size"], "default") == 2048
    assert attr(variables(PREPROD)["memory_size"], "default") == 2048

    (storage,) = blocks(fn, "ephemeral_storage")
    assert attr(storage, "size") == "${var.ephemeral_storage_size}"
    for root in (MODULE, PREPROD):
        assert attr(variables(root)["ephemeral_storage_size"], "default") >= 1024
    (validation,) = blocks(module_vars["ephemeral_storage_size"], "validation")
    assert re.search(r"var\.ephemeral_storage_size\s*>=\s*1024", attr(validation, "condition"))

    (tracing,) = blocks(fn, "tracing_config")
    assert attr(tracing, "mode") == "Active"
    assert attr(fn, "timeout") == "${var.timeout}"
    assert attr(fn, "reserved_concurrent_executions") == "${var.reserved_concurrent_executions}"


@pytest.mark.parametrize("root", [MODULE, PREPROD], ids=["module", "preprod"])
def test_reserved_concurrency_defaults_to_no_reservation(root: Path) -> None:
    variable = variables(root)["reserved_concurrent_executions"]
    default = attr(variable, "default")
    assert default == UNRESERVED, f"{root.relative_to(INFRA)}: reserved_concurrent_executions defaults to {default!r}, not -1 (unreserved)"
    assert "-1" in attr(variable, "description"), "the description must say what -1 means"
    if root == MODULE:
        conditions = [attr(v, "condition") for v in blocks(variable, "validation")]
        assert reserved_concurrency_problems(default, conditions) == []
    else:
        (module,) = [body for entry in PARSED[PREPROD / "main.tf"]["module"] for body in entry.values()]
        assert attr(module, "reserved_concurrent_executions") == "${var.reserved_concurrent_executions}"


def test_function_environment_names_every_setting() -> None:
    (environment,) = blocks(lambda_function(), "environment")
    expression = attr(environment, "variables")
    for name in ["DYNAMODB_TABLE", "MODEL_S3_URI", "MODEL_VERSION", "CONFIDENCE_THRESHOLD", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"]:
        assert re.search(rf"['\"]?\b{name}\b['\"]?\s*[:=]", expression), f"{name} missing from the function environment"


def test_model_sha256_is_validated_and_reaches_the_function_as_model_sha256() -> None:
    """The checksum //tools/model:publish prints is pinned in the deployment; the function refuses other bytes."""
    variable = variables(MODULE)["model_sha256"]
    assert attr(variable, "default") is None, "optional: null skips the check"
    conditions = [attr(v, "condition") for v in blocks(variable, "validation")]
    assert any(SHA256_PATTERN in c and re.search(r"var\.model_sha256\s*==\s*null", c) for c in conditions), conditions
    pattern = re.compile(SHA256_PATTERN)
    assert pattern.match("0a" * 32) and not pattern.match("0A" * 32) and not pattern.match("sha256:" + "0a" * 32)
    (environment,) = blocks(lambda_function(), "environment")
    expression = attr(environment, "variables")
    assert re.search(r"['\"]?\bMODEL_SHA256\b['\"]?\s*[:=]\s*var\.model_sha256\b", expression), expression
    assert re.search(r"var\.model_sha256\s*==\s*null\s*\?\s*\{\s*\}", expression), "unset must mean no MODEL_SHA256 at all"
    (module,) = [body for entry in PARSED[PREPROD / "main.tf"]["module"] for body in entry.values()]
    assert "var.model_sha256" in attr(module, "model_sha256")
    assert "model_sha256" in variables(PREPROD)
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    assert "`model_sha256`" in readme and "//tools/model:publish" in readme


def test_log_group_is_the_functions_own_with_retention_and_kms() -> None:
    group = one("resource", "aws_cloudwatch_log_group", "this")
    assert attr(group, "name") == "${local.log_group_name}"
    (locals_,) = PARSED[MODULE / "main.tf"]["locals"]
    assert attr(locals_, "log_group_name") == "/aws/lambda/${var.function_name}"
    assert attr(group, "retention_in_days") == "${var.log_retention_in_days}"
    assert attr(variables(MODULE)["log_retention_in_days"], "default") >= 30
    assert attr(group, "kms_key_id", None), "log group must be encrypted with the module's key"
    (logging,) = blocks(lambda_function(), "logging_config")
    assert attr(logging, "log_group") == "${aws_cloudwatch_log_group.this.name}"


def test_failures_go_to_an_encrypted_sqs_dlq() -> None:
    invoke_config = one("resource", "aws_lambda_function_event_invoke_config", "this")
    (destinations,) = blocks(invoke_config, "destination_config")
    (on_failure,) = blocks(destinations, "on_failure")
    assert attr(on_failure, "destination") == "${aws_sqs_queue.dlq.arn}"


def test_every_sqs_queue_is_encrypted() -> None:
    queues = all_of("resource", "aws_sqs_queue")
    assert {name for _, name, _ in queues} >= {"dlq", "buffer", "rejects"}
    for path, name, body in queues:
        assert attr(body, "kms_master_key_id", None) or attr(body, "sqs_managed_sse_enabled", False) is True, f"{path}: queue {name} is not encrypted"


# The handler dead-letters every record it rejects; the queue keeps them for the SQS maximum, 14 days.
REJECTS_RETENTION_SECONDS = 14 * 24 * 3600
REJECTS_ARN = "${aws_sqs_queue.rejects.arn}"


def rejects_grant_problems(statements: dict[str, dict[str, Any]]) -> list[str]:
    """The role may send to the rejects queue, in exactly one statement, and do nothing else with it."""
    naming = {sid: s for sid, s in statements.items() if REJECTS_ARN in as_list(attr(s, "resources", []))}
    if len(naming) != 1:
        return [f"expected exactly one statement on the rejects queue, found {sorted(naming)}"]
    ((sid, statement),) = naming.items()
    problems = []
    if as_list(attr(statement, "actions", [])) != ["sqs:SendMessage"]:
        problems.append(f"{sid}: the rejects queue needs sqs:SendMessage only, got {attr(statement, 'actions', [])}")
    if as_list(attr(statement, "resources")) != [REJECTS_ARN]:
        problems.append(f"{sid}: sqs:SendMessage on more than the rejects queue: {attr(statement, 'resources')}")
    if attr(statement, "effect", "Allow") != "Allow" or blocks(statement, "condition"):
        problems.append(f"{sid}: a plain Allow is expected")
    return problems


def test_rejects_queue_is_kms_encrypted_like_the_dlq_and_keeps_records_14_days() -> None:
    rejects = one("resource", "aws_sqs_queue", "rejects")
    dlq = one("resource", "aws_sqs_queue", "dlq")
    assert attr(rejects, "name") == "${var.function_name}-rejects"
    assert attr(rejects, "kms_master_key_id") == "${local.kms_key_arn}" == attr(dlq, "kms_master_key_id")
    assert attr(rejects, "kms_data_key_reuse_period_seconds") == attr(dlq, "kms_data_key_reuse_period_seconds")
    assert attr(rejects, "sqs_managed_sse_enabled", None) is None, "SSE-KMS with the module key, not SQS-managed SSE"
    assert attr(rejects, "message_retention_seconds") == REJECTS_RETENTION_SECONDS == 1209600
    assert attr(rejects, "tags") == "${local.tags}"
    # One synchronous replay of a record must fit in the visibility timeout: it grows with the function's.
    visibility = attr(rejects, "visibility_timeout_seconds")
    assert visibility == "${local.rejects_visibility_timeout_seconds}"
    (locals_,) = PARSED[MODULE / "main.tf"]["locals"]
    assert re.fullmatch(r"\$\{var\.timeout \+ \d+\}", attr(locals_, "rejects_visibility_timeout_seconds"))
    for root, name in ((MODULE, "rejects_queue_url"), (MODULE, "rejects_queue_arn"), (PREPROD, "rejects_queue_url")):
        assert name in outputs(root), f"{root.relative_to(INFRA)}: output {name} missing"
    assert attr(outputs(MODULE)["rejects_queue_url"], "value") == "${aws_sqs_queue.rejects.url}"
    assert attr(outputs(MODULE)["rejects_queue_arn"], "value") == REJECTS_ARN
    assert attr(outputs(PREPROD)["rejects_queue_url"], "value") == "${module.analysis_lambda.rejects_queue_url}"


def test_rejects_queue_url_reaches_the_function() -> None:
    (environment,) = blocks(lambda_function(), "environment")
    expression = attr(environment, "variables")
    match = re.search(r"['\"]?\bREJECTS_QUEUE_URL\b['\"]?\s*[:=]\s*\$?\{?([A-Za-z0-9_.\[\]]+)", expression)
    assert match, "REJECTS_QUEUE_URL missing from the function environment"
    assert match.group(1) in {"aws_sqs_queue.rejects.url", "aws_sqs_queue.rejects.id"}, match.group(1)
    # In the module's own map, which wins over extra_environment_variables (the last argument of merge()).
    assert expression.rindex("REJECTS_QUEUE_URL") > expression.index("var.extra_environment_variables")


def test_role_may_only_send_to_the_rejects_queue() -> None:
    runtime = {attr(s, "sid"): s for s in blocks(one("data", "aws_iam_policy_document", "runtime"), "statement")}
    assert rejects_grant_problems(runtime) == []
    # SendMessage to an SSE-KMS queue: the role encrypts with the module key (GenerateDataKey, Decrypt).
    key_actions = {a for s in runtime.values() if attr(s, "resources") == ["${local.kms_key_arn}"] for a in as_list(attr(s, "actions"))}
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= key_actions, key_actions
    # No other policy document in infra/ grants anything on the rejects queue.
    elsewhere = [name for name, s in policy_statements() if REJECTS_ARN in as_list(attr(s, "resources", [])) and not name.endswith(":runtime")]
    assert elsewhere == []


# --------------------------------------------------------------------------------------------------
# ECR
# --------------------------------------------------------------------------------------------------


def test_ecr_repository_is_immutable_scanned_and_kms_encrypted() -> None:
    repo = one("resource", "aws_ecr_repository", "this")
    assert attr(repo, "image_tag_mutability") == "IMMUTABLE"
    (scanning,) = blocks(repo, "image_scanning_configuration")
    assert attr(scanning, "scan_on_push") is True
    (encryption,) = blocks(repo, "encryption_configuration")
    assert attr(encryption, "encryption_type") == "KMS" and attr(encryption, "kms_key", None)


def test_ecr_lifecycle_keeps_the_last_n_images() -> None:
    policy = attr(one("resource", "aws_ecr_lifecycle_policy", "this"), "policy")
    assert "imageCountMoreThan" in policy and "var.ecr_keep_image_count" in policy and "expire" in policy


def test_ecr_repository_policy_lets_only_lambda_pull() -> None:
    one("resource", "aws_ecr_repository_policy", "this")
    (statement,) = blocks(one("data", "aws_iam_policy_document", "ecr_lambda_pull"), "statement")
    assert sorted(attr(statement, "actions")) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    (principal,) = blocks(statement, "principals")
    assert attr(principal, "type") == "Service" and attr(principal, "identifiers") == ["lambda.amazonaws.com"]
    variables_ = {attr(c, "variable") for c in blocks(statement, "condition")}
    assert {"aws:SourceArn", "aws:SourceAccount"} <= variables_


# --------------------------------------------------------------------------------------------------
# IAM
# --------------------------------------------------------------------------------------------------


def test_policy_documents_have_no_wildcard_actions_and_scoped_data_actions() -> None:
    statements = policy_statements()
    assert len(statements) >= 10, "policy documents not found"
    problems = [p for name, s in statements for p in statement_problems(name, s)]
    assert problems == []


def test_star_resources_only_where_aws_allows_nothing_else() -> None:
    for name, statement in policy_statements():
        resources = as_list(attr(statement, "resources", []))
        if "*" not in resources:
            continue
        assert set(attr(statement, "actions")) <= STAR_RESOURCE_ALLOWED, f"{name}: {attr(statement, 'actions')} on *"


def test_execution_role_grants_exactly_the_handlers_calls() -> None:
    runtime = {attr(s, "sid"): s for s in blocks(one("data", "aws_iam_policy_document", "runtime"), "statement")}
    expected = {
        "WriteOwnLogGroup": ({"logs:CreateLogStream", "logs:PutLogEvents"}, ["${local.log_group_arn}:log-stream:*"]),
        "ReadModelArtifacts": ({"s3:GetObject"}, ["${local.model_objects_arn}"]),
        "UpdateResults": ({"dynamodb:UpdateItem"}, ["${var.dynamodb_table_arn}"]),
        "SendFailuresToDlq": ({"sqs:SendMessage"}, ["${aws_sqs_queue.dlq.arn}"]),
        "SendRejectsToRejectsQueue": ({"sqs:SendMessage"}, ["${aws_sqs_queue.rejects.arn}"]),
        "ConsumeBufferQueue": ({"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}, ["${aws_sqs_queue.buffer[0].arn}"]),
        "WriteTraces": ({"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, ["*"]),
    }
    for sid, (actions, resources) in expected.items():
        assert sid in runtime, f"statement {sid} missing"
        assert set(attr(runtime[sid], "actions")) == actions, sid
        assert attr(runtime[sid], "resources") == resources, sid
    (locals_,) = PARSED[MODULE / "main.tf"]["locals"]
    assert attr(locals_, "model_objects_arn").endswith(":s3:::${var.model_bucket_name}/${var.model_key_prefix}*")


def test_key_policy_spells_out_its_actions_and_principals() -> None:
    """The key policy is JSON (kms.tf): in it "*" as Resource means the key itself, nothing wider."""
    text = (MODULE / "kms.tf").read_text(encoding="utf-8")
    action_lists = re.findall(r"\bAction\s*=\s*\[([^\]]*)\]", text)
    assert len(action_lists) == 3, "expected the account, CloudWatch Logs and SNS statements"
    actions = [a for body in action_lists for a in re.findall(r'"([^"]+)"', body)]
    assert actions and all(re.fullmatch(r"kms:[A-Z][A-Za-z]+", a) for a in actions), actions
    principals = re.findall(r"\bPrincipal\s*=\s*\{([^}]*)\}", text)
    assert len(principals) == 3 and not any('"*"' in p for p in principals), principals
    assert "aws:SourceArn" in text and "kms:EncryptionContext:aws:logs:arn" in text


def test_no_aws_managed_policies_are_attached() -> None:
    assert not all_of("resource", "aws_iam_role_policy_attachment")
    assert not all_of("resource", "aws_iam_policy_attachment")
    for path in PARSED:
        assert "iam::aws:policy/" not in path.read_text(encoding="utf-8"), path


def outputs(root: Path) -> dict[str, dict[str, Any]]:
    return {name: body for path, doc in PARSED.items() if path.parent == root for entry in doc.get("output", []) for name, body in entry.items()}


def test_deploy_role_kms_policy_is_an_output_scoped_to_the_module_key() -> None:
    assert attr(outputs(MODULE)["deploy_role_kms_policy_json"], "value") == "${data.aws_iam_policy_document.deploy_role_kms.json}"
    assert attr(outputs(PREPROD)["deploy_role_kms_policy_json"], "value") == "${module.analysis_lambda.deploy_role_kms_policy_json}"

    statements = {attr(s, "sid"): s for s in blocks(one("data", "aws_iam_policy_document", "deploy_role_kms"), "statement")}
    problems = [p for sid, s in statements.items() for p in kms_statement_problems(f"deploy_role_kms:{sid}", s, DEPLOY_KMS_RESOURCES)]
    assert problems == []
    assert all(attr(s, "effect") == "Allow" for s in statements.values())

    granted = {a for s in statements.values() for a in as_list(attr(s, "actions"))}
    # ECR encryption at rest: CreateGrant, RetireGrant, DescribeKey; Lambda environment: Encrypt, Decrypt (infra/README.md).
    assert {"kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey", "kms:Encrypt", "kms:Decrypt"} <= granted, granted
    assert not granted & {"kms:CreateKey", "kms:ListAliases"}, "account-level KMS calls take Resource '*': they belong in the README, not here"

    def conditions(action: str) -> set[tuple[str, str]]:
        (statement,) = [s for s in statements.values() if action in as_list(attr(s, "actions"))]
        return {(attr(c, "variable"), str(attr(c, "values"))) for c in blocks(statement, "condition")}

    assert ("kms:GrantIsForAWSResource", str(["true"])) in conditions("kms:CreateGrant"), "grants only for AWS services acting for the role"
    assert {v for v, _ in conditions("kms:Decrypt")} == {"kms:ViaService"}, "decrypt only through Lambda"
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    assert "deploy_role_kms_policy_json" in readme
    assert "https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html" in readme


# --------------------------------------------------------------------------------------------------
# Triggers
# --------------------------------------------------------------------------------------------------


def test_sns_invocation_is_limited_to_the_topic() -> None:
    permission = one("resource", "aws_lambda_permission", "sns")
    assert attr(permission, "principal") == "sns.amazonaws.com"
    assert attr(permission, "source_arn") == "${var.sns_topic_arn}"
    subscription = one("resource", "aws_sns_topic_subscription", "lambda")
    assert attr(subscription, "protocol") == "lambda"


def test_sqs_buffer_path_reports_batch_item_failures_and_redrives() -> None:
    mapping = one("resource", "aws_lambda_event_source_mapping", "sqs")
    assert attr(mapping, "function_response_types") == ["ReportBatchItemFailures"]
    assert attr(mapping, "batch_size") == "${var.sqs_batch_size}"
    assert attr(mapping, "maximum_batching_window_in_seconds") == "${var.sqs_maximum_batching_window_in_seconds}"
    assert "var.enable_sqs_buffer" in attr(mapping, "count")
    buffer = one("resource", "aws_sqs_queue", "buffer")
    assert "aws_sqs_queue.dlq.arn" in attr(buffer, "redrive_policy")
    (statement,) = blocks(one("data", "aws_iam_policy_document", "buffer_queue"), "statement")
    assert attr(statement, "actions") == ["sqs:SendMessage"]
    (principal,) = blocks(statement, "principals")
    assert attr(principal, "identifiers") == ["sns.amazonaws.com"]
    (condition,) = blocks(statement, "condition")
    assert attr(condition, "variable") == "aws:SourceArn" and attr(condition, "values") == ["${var.sns_topic_arn}"]


# --------------------------------------------------------------------------------------------------
# Alarms
# --------------------------------------------------------------------------------------------------


def test_alarms_cover_errors_throttles_duration_dlq_and_rejects_depth() -> None:
    # One for_each resource over local.alarms (alarms.tf): the per-alarm values live in that map.
    (resource,) = [body for _, _, body in all_of("resource", "aws_cloudwatch_metric_alarm", MODULE)]
    assert attr(resource, "for_each") == "${var.create_alarms ? local.alarms : {}}"
    assert attr(resource, "metric_name") == "${each.value.metric}"
    assert attr(resource, "threshold") == "${each.value.threshold}"
    assert attr(resource, "comparison_operator") == "GreaterThanThreshold"
    assert attr(resource, "alarm_actions") == "${local.alarm_actions}"
    (locals_,) = PARSED[MODULE / "alarms.tf"]["locals"]
    alarms = locals_["alarms"]
    assert set(alarms) == {"errors", "throttles", "duration", "dlq_depth", "rejects_depth"}
    assert {alarms[k]["metric"] for k in ("errors", "throttles", "duration")} == {"Errors", "Throttles", "Duration"}
    duration_threshold = alarms["duration"]["threshold"]
    assert "var.timeout" in duration_threshold and "1000" in duration_threshold and "var.alarm_duration_threshold_percent" in duration_threshold
    assert attr(variables(MODULE)["alarm_duration_threshold_percent"], "default") == 80
    # Queue depth > 0, each on its own queue.
    for key, queue in (("dlq_depth", "dlq"), ("rejects_depth", "rejects")):
        alarm = alarms[key]
        assert alarm["namespace"] == "AWS/SQS" and alarm["metric"] == "ApproximateNumberOfMessagesVisible", key
        assert alarm["statistic"] == "Maximum" and alarm["threshold"] == 0, key
        assert alarm["dimensions"] == {"QueueName": f"${{aws_sqs_queue.{queue}.name}}"}, (key, alarm["dimensions"])
    # The rejects alarm tells the operator how to replay, with the replay tool's label.
    rejects_description = alarms["rejects_depth"]["description"]
    assert "//tools/rejects:redrive" in rejects_description and "--queue-url" in rejects_description and "--function" in rejects_description
    # alarm_arns is built from the resource, so it has every alarm of the map.
    assert "aws_cloudwatch_metric_alarm.this" in attr(outputs(MODULE)["alarm_arns"], "value")
    # Upgrading from the four count-based resources moves them instead of replacing them (rejects_depth is new).
    moved = {(m["from"], m["to"]) for m in PARSED[MODULE / "alarms.tf"]["moved"]}
    assert moved == {(f"${{aws_cloudwatch_metric_alarm.{key}[0]}}", f'${{aws_cloudwatch_metric_alarm.this["{key}"]}}')
                     for key in ("errors", "throttles", "duration", "dlq_depth")}, moved
    assert "alarm_sns_topic_arn" in variables(MODULE)


# --------------------------------------------------------------------------------------------------
# Digest handoff
# --------------------------------------------------------------------------------------------------


def handoff_variables() -> set[str]:
    """Env-root variables that feed the module's image_* inputs: exactly what the push step must write."""
    (module,) = [body for entry in PARSED[PREPROD / "main.tf"]["module"] for body in entry.values()]
    fed = set()
    for argument, value in module.items():
        value = attr(module, argument)
        if argument.startswith("image_") and isinstance(value, str):
            match = re.fullmatch(r"\$\{var\.([a-z0-9_]+)\}", value)
            assert match, f"module argument {argument} should be passed straight from a variable"
            fed.add(match.group(1))
    return fed


def test_handoff_example_keys_are_exactly_the_env_handoff_variables() -> None:
    example = json.loads(HANDOFF_EXAMPLE.read_text(encoding="utf-8"))
    declared = set(variables(PREPROD))
    assert set(example) <= declared, f"keys not declared as variables in envs/preprod: {set(example) - declared}"
    assert set(example) == handoff_variables() == {"image_digest", "image_repository_url"}
    assert re.match(DIGEST_PATTERN, example["image_digest"])
    assert isinstance(example["image_repository_url"], str) and example["image_repository_url"]


def test_generated_handoff_file_is_ignored_and_documented() -> None:
    ignored = (PREPROD / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "image.auto.tfvars.json" in ignored
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    for key in handoff_variables():
        assert f"`{key}`" in readme, f"infra/README.md does not document handoff key {key}"
    assert "-target=module.analysis_lambda.aws_ecr_repository.this" in readme


# --------------------------------------------------------------------------------------------------
# The checkers above catch what they claim to catch
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "${aws_ecr_repository.this.repository_url}:latest",
        "${aws_ecr_repository.this.repository_url}:${var.image_tag}",
        "${aws_ecr_repository.this.repository_url}@${var.other}",
    ],
)
def test_image_uri_checker_rejects_tags_and_foreign_digests(uri: str) -> None:
    assert image_uri_problems(uri)


@pytest.mark.parametrize(
    "statement",
    [
        'actions = ["*"]\nresources = ["arn:aws:s3:::b/p*"]',
        'actions = ["s3:*"]\nresources = ["arn:aws:s3:::b/p*"]',
        'actions = ["s3:Get*"]\nresources = ["arn:aws:s3:::b/p*"]',
        'actions = ["dynamodb:UpdateItem"]\nresources = ["*"]',
        'actions = ["sqs:SendMessage"]',
        'not_actions = ["iam:PassRole"]\nresources = ["*"]',
    ],
)
def test_statement_checker_rejects_wildcards(statement: str) -> None:
    doc = parse_text(f'data "aws_iam_policy_document" "bad" {{\n  statement {{\n    {statement}\n  }}\n}}\n')
    ((_, _, body),) = labelled(doc, "data")
    (parsed_statement,) = blocks(body, "statement")
    assert statement_problems("bad", parsed_statement)


@pytest.mark.parametrize(
    ("default", "condition"),
    [
        (5, "var.reserved_concurrent_executions == -1 || var.reserved_concurrent_executions >= 1"),
        (10, "var.reserved_concurrent_executions >= 0"),
        (0, "var.reserved_concurrent_executions == -1 || var.reserved_concurrent_executions >= 1"),
        (-1, "var.reserved_concurrent_executions >= 0"),
    ],
)
def test_reserved_concurrency_checker_rejects_reservations_by_default(default: int, condition: str) -> None:
    assert reserved_concurrency_problems(default, [condition])


@pytest.mark.parametrize(
    "statement",
    [
        'actions = ["kms:Decrypt"]\nresources = ["*"]',
        'actions = ["kms:CreateGrant"]\nresources = ["arn:aws:kms:*:*:key/*"]',
        'actions = ["kms:*"]\nresources = ["${local.kms_key_arn}"]',
        'actions = ["kms:Encrypt"]\nresources = ["${var.dynamodb_kms_key_arn}"]',
        'actions = ["kms:DescribeKey"]',
    ],
)
def test_kms_statement_checker_rejects_unscoped_statements(statement: str) -> None:
    doc = parse_text(f'data "aws_iam_policy_document" "bad" {{\n  statement {{\n    {statement}\n  }}\n}}\n')
    ((_, _, body),) = labelled(doc, "data")
    (parsed_statement,) = blocks(body, "statement")
    assert kms_statement_problems("bad", parsed_statement, DEPLOY_KMS_RESOURCES)


@pytest.mark.parametrize(
    "statements",
    [
        [],
        ['actions = ["sqs:SendMessage", "sqs:ReceiveMessage"]\nresources = ["${aws_sqs_queue.rejects.arn}"]'],
        ['actions = ["sqs:SendMessage"]\nresources = ["${aws_sqs_queue.rejects.arn}", "${aws_sqs_queue.dlq.arn}"]'],
        ['actions = ["sqs:SendMessage"]\nresources = ["${aws_sqs_queue.rejects.arn}"]', 'actions = ["sqs:DeleteMessage"]\nresources = ["${aws_sqs_queue.rejects.arn}"]'],
        ['actions = ["sqs:SendMessage"]\nresources = ["${aws_sqs_queue.dlq.arn}"]'],
    ],
    ids=["missing", "receive-too", "another-queue-too", "second-statement", "wrong-queue"],
)
def test_rejects_grant_checker_rejects_broader_grants(statements: list[str]) -> None:
    body = "".join(f'  statement {{\n    sid = "S{i}"\n    {s}\n  }}\n' for i, s in enumerate(statements))
    doc = parse_text(f'data "aws_iam_policy_document" "bad" {{\n{body}}}\n')
    ((_, _, parsed),) = labelled(doc, "data")
    assert rejects_grant_problems({attr(s, "sid"): s for s in blocks(parsed, "statement")})


def test_blocks_sees_dynamic_statements() -> None:
    doc = parse_text(
        'data "aws_iam_policy_document" "d" {\n'
        '  dynamic "statement" {\n    for_each = [1]\n    content {\n      actions = ["sqs:*"]\n    }\n  }\n}\n'
    )
    ((_, _, body),) = labelled(doc, "data")
    (statement,) = blocks(body, "statement")
    assert statement_problems("d", statement)
