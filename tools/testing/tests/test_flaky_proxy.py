"""The flaky proxy's faults beyond canned errors: a body cut short, a request held; and what it records."""

import json
import socket
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from tools.testing.flaky_proxy import FlakyProxy, s3_error
from tools.testing.moto_server import create_table, get_item, seed_pending

KEY = {"source_id": {"S": "a#1"}, "timestamp": {"S": "2025-01-01T00:00:00Z"}}


def _client(service, endpoint):
    return boto3.session.Session().client(service, region_name="us-east-1", endpoint_url=endpoint,
                                          aws_access_key_id="testing", aws_secret_access_key="testing",
                                          config=Config(retries={"total_max_attempts": 1}))


def _wait(condition, seconds=30):
    """Until CONDITION holds (a bound, not a measurement: the test asserts what happened, not how fast)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def _is_get(request):
    return request.method == "GET" and request.path.startswith("/bucket/")


def test_a_truncated_body_fails_the_read_and_the_next_download_is_whole(aws_env):
    data = bytes(range(256)) * 400  # 100 KiB
    aws_env.client("s3").create_bucket(Bucket="bucket")
    aws_env.client("s3").put_object(Bucket="bucket", Key="model.tar.gz", Body=data)
    with FlakyProxy(aws_env.endpoint) as proxy:
        proxy.add_truncation(_is_get, keep=0.5, times=1)
        s3 = _client("s3", proxy.endpoint)
        cut = s3.get_object(Bucket="bucket", Key="model.tar.gz")  # the headers arrive whole
        assert cut["ContentLength"] == len(data)
        with pytest.raises(BotoCoreError):
            cut["Body"].read()
        assert s3.get_object(Bucket="bucket", Key="model.tar.gz")["Body"].read() == data
        gets = [r for r in proxy.seen if _is_get(r)]
        assert [(r.fault, r.status) for r in gets] == [("truncate", 200), ("", 200)]


def test_truncation_keeps_a_fraction_below_one():
    with pytest.raises(ValueError):
        FlakyProxy("http://127.0.0.1:9").add_truncation(_is_get, keep=1.0)


def test_an_injected_s3_error_reaches_the_client_with_its_code(aws_env):
    aws_env.client("s3").create_bucket(Bucket="bucket")
    with FlakyProxy(aws_env.endpoint) as proxy:
        status, body = s3_error("SlowDown", 503)
        proxy.add_rule(lambda r: r.method == "GET", status, body, times=1, content_type="application/xml")
        s3 = _client("s3", proxy.endpoint)
        with pytest.raises(s3.exceptions.ClientError) as raised:
            s3.get_object(Bucket="bucket", Key="anything")
        assert raised.value.response["Error"]["Code"] == "SlowDown"
        assert [(r.fault, r.status) for r in proxy.seen] == [("error", None)]


def test_a_held_request_lands_although_its_client_went_away(aws_env):
    create_table(aws_env, "t")
    with FlakyProxy(aws_env.endpoint) as proxy:
        rule = proxy.add_delay(lambda r: r.target.endswith(".PutItem"), seconds=0.5, times=1)
        body = json.dumps({"TableName": "t", "Item": {**KEY, "status": {"S": "pending"}}}).encode()
        host, port = proxy.endpoint.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:  # sends, then hangs up without an answer
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
                         b"Content-Type: application/x-amz-json-1.0\r\nAuthorization: AWS4-HMAC-SHA256 "
                         b"Credential=testing/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, "
                         b"Signature=0\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            _wait(lambda: rule.hits)  # the proxy has read it
        _wait(lambda: proxy.count(lambda r: r.fault == "delay"))
        assert [(r.fault, r.status) for r in proxy.seen] == [("delay", 200)]
        assert get_item(aws_env, "t", "a#1", "2025-01-01T00:00:00Z")["status"] == "pending"


def test_each_forwarded_request_is_recorded_with_the_status_the_upstream_gave(aws_env):
    create_table(aws_env, "t")
    seed_pending(aws_env, "t", [{"source_id": "a#1", "timestamp": "2025-01-01T00:00:00Z"}])
    with FlakyProxy(aws_env.endpoint) as proxy:
        ddb = _client("dynamodb", proxy.endpoint)
        update = dict(TableName="t", Key=KEY, UpdateExpression="SET #s = :done", ConditionExpression="#s = :pending",
                      ExpressionAttributeNames={"#s": "status"},
                      ExpressionAttributeValues={":done": {"S": "analyzed"}, ":pending": {"S": "pending"}})
        ddb.update_item(**update)
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
            ddb.update_item(**update)
        assert [(r.target.split(".")[-1], r.injected, r.status) for r in proxy.seen] == [
            ("UpdateItem", False, 200), ("UpdateItem", False, 400)]
