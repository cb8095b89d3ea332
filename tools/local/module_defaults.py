"""The Terraform module's delivery settings (infra/modules/analysis_lambda/variables.tf defaults), mirrored here so
that nothing at run time needs the Terraform sources; tools/local/tests/test_delivery.py parses that file and fails
when they drift apart."""

MODULE_DEFAULTS = {
    "sqs_batch_size": 10,
    "sqs_maximum_batching_window_in_seconds": 5,
    "sqs_max_receive_count": 5,
    "async_maximum_retry_attempts": 2,
}
