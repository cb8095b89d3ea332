"""The soak's figures as a Markdown section: bench/REPORT.md's, and the short soak test's log."""

from __future__ import annotations

from typing import Any

from tools.local.module_defaults import MODULE_DEFAULTS


def _latency(phase: dict[str, Any], path: str) -> str:
    figures = phase["latency_ms"][path]
    return f"{figures['p50']:.0f} / {figures['p99']:.0f} ms ({figures['invocations']})"


def _failed(phase: dict[str, Any]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(phase["failed_invocations"].items())) or "none"


def section(f: dict[str, Any], command: str = "tools/bazel run //bench:soak") -> str:
    faulted, clean, verdict, kill, sent = f["under_faults"], f["baseline"], f["invariant"], f["kill"], f["sent"]
    envs = list(faulted["environments"])
    rows = [
        ("wall time", f"{faulted['seconds']} s", f"{clean['seconds']} s"),
        ("invocations", faulted["invocations"], clean["invocations"]),
        ("failed invocations (retried)", _failed(faulted), _failed(clean)),
        ("items analyzed", faulted["analyzed"], clean["analyzed"]),
        *[(f"**items/s, {env}**", f"**{faulted['environments'][env]['items_per_s']}**",
           clean["environments"][env]["items_per_s"]) for env in envs],
        ("SNS invocation (1 record) p50 / p99", _latency(faulted, "sns"), _latency(clean, "sns")),
        ("SQS invocation (batch) p50 / p99", _latency(faulted, "sqs"), _latency(clean, "sqs")),
        ("duplicate deliveries skipped by the conditional write", faulted["duplicates"], clean["duplicates"]),
        ("records the function reported for retry", faulted["function_reported_retries"],
         clean["function_reported_retries"]),
    ]
    memory = "; ".join(f"{env}: " + ", ".join(f"{mb} MB" for mb in m["containers_mb"].values())
                       for env, m in f["peak_memory"].items())
    source = next(iter(f["peak_memory"].values()))
    redelivery = f["redeliveries"]
    return "\n".join([
        f"Command: `{command}`: {len(envs)} containers of the image under runc, each behind its own Runtime API "
        "emulator, over one moto server and one registry; DynamoDB and S3 through flaky proxies. The model is the "
        "**tiny** one (tools/testing/tiny_model.py): throughput measures the pipeline (delivery, parsing, "
        "conditional writes, retries, dead letters), not inference.",
        "",
        f"Sent: {sent['items']} items ({f['size']['items']} under faults, {f['size']['baseline_items']} in the "
        f"baseline), {sent['poison']} poison records, {sent['duplicate_deliveries']} duplicate deliveries, "
        f"{sent['twins']} twins (one SNS message to two containers at once), out of timestamp order. SNS: one "
        f"record per invocation; SQS: batches of at most {MODULE_DEFAULTS['sqs_batch_size']}, window "
        f"{MODULE_DEFAULTS['sqs_maximum_batching_window_in_seconds']} s (the Terraform module's defaults).",
        "",
        f"**Invariant {'held' if verdict['ok'] else 'BROKEN'}**: analyzed by exactly one successful conditional "
        f"write (200 to UpdateItem, counted per key in the proxy) with analyzed_at as written: {verdict['analyzed']} "
        f"of {verdict['items']}; dead-lettered with the expected reason: {verdict['dead_lettered']} of "
        f"{verdict['poison']} poison records ({verdict['letters']} letters in all); lost {verdict['lost']}, "
        f"double-written {verdict['double_written']}, analyzed_at overwritten {verdict['overwritten']}, good items "
        f"dead-lettered {verdict['good_dead_lettered']}.",
        "",
        "| | under faults (cold start, kill and replacement included) | baseline: same containers, warm, no faults |",
        "| --- | --- | --- |",
        *[f"| {name} | {a} | {b} |" for name, a, b in rows],
        "",
        "Faults injected: " + ", ".join(f"{kind} {n}" for kind, n in f["faults_injected"].items()) + ". "
        f"Redeliveries: SNS async retries {redelivery['sns_retries']}, SQS records received again "
        f"{redelivery['sqs_redelivered']}; out of retries: SNS on-failure {redelivery['sns_on_failure']}, SQS DLQ "
        f"{redelivery['sqs_dlq']}.",
        "",
        f"Kill: {kill['environment']}'s container {kill['container_id']} got SIGKILL while its write of "
        f"{kill['held']} was held in the proxy (the invocation ended `{kill['killed_invocation_status']}`); a new "
        "container took over behind the same emulator, and SQS delivered the batch again.",
        "",
        f"Peak memory per container ({source['source']}; limit {source['limit'].split(', cgroup')[0]}; CPU "
        f"{source.get('cpu', 'not recorded').split(', cgroup')[0]}), in start order: {memory}.",
        f"Twins: {f['twins']['pairs']} pairs, {f['twins']['one_analyzed_one_duplicate']} of them one analyzed + "
        "one duplicate" + ("." if f["twins"]["one_analyzed_one_duplicate"] == f["twins"]["pairs"] else
                          " (the others met a failed invocation first: its retry wrote the item)."),
        *([f"Whole run, setup (moto, registry push and pull, unpack) included: {f['wall_s']} s."]
          if "wall_s" in f else []),
        *([f"Machine: {f['machine']['cpus']} CPUs, shared with other work: 1-minute load average "
           f"{f['machine']['load_average_before']} before the run, {f['machine']['load_average_after']} after."]
          if "machine" in f else []),
    ])
