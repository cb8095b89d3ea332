"""The faults a soak injects through the flaky proxies in front of moto, and their tally.

DynamoDB (the items table): a steady share of UpdateItem calls is throttled (ProvisionedThroughputExceededException)
or fails with 500 InternalServerError before reaching the table. botocore retries both (standard mode, 5 attempts),
so most never reach the function; a burst of consecutive throttles outlasts those attempts, the write fails and the
function reports the record for retry (SQS: batchItemFailures; SNS: the invocation fails and Lambda retries it).
S3 (the model, fetched at every cold start): 503 SlowDown, which botocore retries, then a body cut in half under its
full Content-Length: the fetch fails (ModelFetchError), the invocation fails and its records come again.
A held write: one key's UpdateItem waits in the proxy while its container is killed (the soak's SIGKILL mid-batch);
it lands afterwards, as a request already on the wire does.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from tools.local.services import MODEL_KEY
from tools.testing.flaky_proxy import FlakyProxy, Rule, SeenRequest, dynamodb_error, s3_error, target_is

UPDATE_ITEM = "DynamoDB_20120810.UpdateItem"


def is_model_get(request: SeenRequest) -> bool:
    return request.method == "GET" and request.path.split("?")[0].endswith(MODEL_KEY)


class Faults:
    def __init__(self, dynamodb: FlakyProxy, s3: FlakyProxy, *, seed: int, throttle_share: float = 0.03,
                 error_share: float = 0.01):
        self.dynamodb, self.s3 = dynamodb, s3
        self.throttle_share, self.error_share = throttle_share, error_share
        self._rng = random.Random(seed)  # drawn under the proxy's lock: one request at a time
        self._rules: dict[str, list[Rule]] = {}

    def _keep(self, kind: str, rule: Rule) -> Rule:
        self._rules.setdefault(kind, []).append(rule)
        return rule

    def _share(self, share: float) -> Callable[[SeenRequest], bool]:
        update = target_is(UPDATE_ITEM)
        return lambda request: update(request) and self._rng.random() < share

    def steady(self) -> None:
        """From now on, a share of all UpdateItem calls throttled and another failed with a 500."""
        self._keep("dynamodb throttled", self.dynamodb.add_rule(
            self._share(self.throttle_share), *dynamodb_error("ProvisionedThroughputExceededException")))
        self._keep("dynamodb 500", self.dynamodb.add_rule(
            self._share(self.error_share), *dynamodb_error("InternalServerError", status=500)))

    def model_fetch(self) -> None:
        """The next model downloads: two 503s, then one body cut short."""
        self._keep("s3 503", self.s3.add_rule(is_model_get, *s3_error("SlowDown", 503), times=2,
                                              content_type="application/xml"))
        self._keep("s3 truncated", self.s3.add_truncation(is_model_get, keep=0.5, times=1))

    def throttle_burst(self, count: int = 12) -> Rule:
        """The next COUNT UpdateItem calls throttled: more than botocore's attempts for one write."""
        return self._keep("dynamodb throttled", self.dynamodb.add_rule(
            target_is(UPDATE_ITEM), *dynamodb_error("ProvisionedThroughputExceededException"), times=count))

    def hold(self, source_id: str, seconds: float) -> Rule:
        """The next UpdateItem of SOURCE_ID waits SECONDS in the proxy, then goes on."""
        return self._keep("dynamodb held", self.dynamodb.add_delay(
            target_is(UPDATE_ITEM, body_contains=f'"{source_id}"'), seconds, times=1))

    def stop(self) -> None:
        """No more faults (what was injected stays counted)."""
        self.dynamodb.clear_rules()
        self.s3.clear_rules()

    def tally(self) -> dict[str, int]:
        """Faults injected so far, by kind."""
        return {kind: sum(rule.hits for rule in rules) for kind, rules in sorted(self._rules.items())}
