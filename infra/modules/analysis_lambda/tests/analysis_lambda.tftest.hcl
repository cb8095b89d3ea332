# `terraform test` with a mocked AWS provider: no account, no credentials, no network once the
# provider is installed. Run from infra/modules/analysis_lambda: terraform init -backend=false && terraform test

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }

  override_data {
    target = data.aws_region.current
    values = { name = "eu-west-1" }
  }

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws" }
  }

  # Policy documents are rendered by the provider; a fixed document keeps the mocked role and
  # queue policies well-formed. Their content is checked statically (infra/tests).
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  mock_resource "aws_ecr_repository" {
    defaults = { repository_url = "mock-registry/sentiment-analysis" }
  }

  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:mock-queue" }
  }

  # Its own ARN and URL, so the role's statements and the environment can be told apart from the DLQ's.
  override_resource {
    target = aws_sqs_queue.rejects
    values = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:sentiment-analysis-rejects"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/sentiment-analysis-rejects"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/sentiment-analysis" }
  }

  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:sentiment-analysis" }
  }

  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
}

variables {
  image_digest       = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  model_version      = "test-v1"
  model_bucket_name  = "models-bucket"
  model_key_prefix   = "models/distilbert/"
  model_object_key   = "models/distilbert/v1/model.tar.gz"
  dynamodb_table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/sentiment-items"
  sns_topic_arn      = "arn:aws:sns:eu-west-1:123456789012:items"
}

run "direct_sns_path_by_digest" {
  command = apply

  assert {
    condition     = aws_lambda_function.this.image_uri == "mock-registry/sentiment-analysis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    error_message = "image_uri must be repository@digest."
  }

  assert {
    condition     = aws_lambda_function.this.package_type == "Image" && aws_lambda_function.this.memory_size == 2048
    error_message = "Image package with 2048 MB expected by default."
  }

  assert {
    condition     = aws_lambda_function.this.ephemeral_storage[0].size >= 1024 && aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "Ephemeral storage >= 1024 MB and active tracing expected."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["DYNAMODB_TABLE"] == "sentiment-items" && aws_lambda_function.this.environment[0].variables["MODEL_S3_URI"] == "s3://models-bucket/models/distilbert/v1/model.tar.gz"
    error_message = "DYNAMODB_TABLE comes from the table ARN and MODEL_S3_URI from bucket and key."
  }

  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "MODEL_SHA256")
    error_message = "Without model_sha256 the function gets no MODEL_SHA256 (an empty one would not be a checksum)."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.lambda) == 1 && length(aws_lambda_permission.sns) == 1 && length(aws_sqs_queue.buffer) == 0 && length(aws_lambda_event_source_mapping.sqs) == 0
    error_message = "Without the buffer, only the direct SNS -> Lambda path exists."
  }

  assert {
    condition     = aws_lambda_permission.sns[0].source_arn == var.sns_topic_arn
    error_message = "Only the given topic may invoke the function."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 5 && aws_cloudwatch_metric_alarm.this["duration"].threshold == 96000
    error_message = "Five alarms, the duration alarm at 80% of the 120 s timeout (96000 ms), expected."
  }

  assert {
    condition     = aws_sqs_queue.rejects.name == "sentiment-analysis-rejects" && aws_sqs_queue.rejects.message_retention_seconds == 1209600 && aws_sqs_queue.rejects.visibility_timeout_seconds == 120 + 60
    error_message = "The rejects queue keeps records 14 days and hides one for an invocation plus 60 s while it is replayed."
  }

  assert {
    condition     = aws_sqs_queue.rejects.kms_master_key_id == aws_kms_key.this[0].arn && aws_sqs_queue.rejects.kms_master_key_id == aws_sqs_queue.dlq.kms_master_key_id
    error_message = "The rejects queue is encrypted with the module's key, like the DLQ."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["REJECTS_QUEUE_URL"] == aws_sqs_queue.rejects.url && output.rejects_queue_url == aws_sqs_queue.rejects.url && output.rejects_queue_arn == aws_sqs_queue.rejects.arn
    error_message = "REJECTS_QUEUE_URL and the outputs must name the rejects queue."
  }

  # The only grant on the rejects queue is SendMessage, in one statement that names nothing else.
  assert {
    condition = (
      length([for s in data.aws_iam_policy_document.runtime.statement : s if contains(s.resources, aws_sqs_queue.rejects.arn)]) == 1 &&
      alltrue([for s in data.aws_iam_policy_document.runtime.statement : s.actions == toset(["sqs:SendMessage"]) && s.resources == toset([aws_sqs_queue.rejects.arn]) if contains(s.resources, aws_sqs_queue.rejects.arn)])
    )
    error_message = "The function's role may only sqs:SendMessage to the rejects queue."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["rejects_depth"].dimensions["QueueName"] == aws_sqs_queue.rejects.name && aws_cloudwatch_metric_alarm.this["rejects_depth"].threshold == 0 && aws_cloudwatch_metric_alarm.this["rejects_depth"].statistic == "Maximum" && strcontains(aws_cloudwatch_metric_alarm.this["rejects_depth"].alarm_description, "//tools/rejects:redrive")
    error_message = "The rejects alarm fires on one visible record and says how to replay."
  }

  assert {
    condition     = output.alarm_arns["rejects_depth"] == aws_cloudwatch_metric_alarm.this["rejects_depth"].arn
    error_message = "alarm_arns includes the rejects alarm."
  }

  # A reservation by default fails in accounts at the unreserved-concurrency minimum.
  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == -1
    error_message = "By default the function must not reserve concurrency (-1)."
  }

  # The deploy-role policy is rendered from these statements (the mocked provider fixes its JSON).
  assert {
    condition     = length(data.aws_iam_policy_document.deploy_role_kms.statement) == 6 && alltrue([for s in data.aws_iam_policy_document.deploy_role_kms.statement : length(s.resources) > 0 && !contains(s.resources, "*")])
    error_message = "The deploy-role KMS policy must cover the module's own key and alias, each statement on explicit ARNs."
  }

  assert {
    condition     = output.deploy_role_kms_policy_json == data.aws_iam_policy_document.deploy_role_kms.json
    error_message = "deploy_role_kms_policy_json must be the rendered deploy-role KMS policy."
  }
}

run "sqs_buffer_path" {
  command = apply

  variables {
    enable_sqs_buffer = true
  }

  assert {
    condition     = length(aws_sns_topic_subscription.lambda) == 0 && length(aws_lambda_permission.sns) == 0
    error_message = "With the buffer, the topic must not invoke the function directly as well."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.sqs[0].function_response_types == toset(["ReportBatchItemFailures"]) && aws_lambda_event_source_mapping.sqs[0].batch_size == 10
    error_message = "The poller reports partial batch failures."
  }

  assert {
    condition     = aws_sqs_queue.buffer[0].visibility_timeout_seconds == 6 * 120 + 5
    error_message = "Visibility timeout must be six times the function timeout plus the batching window."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.buffer[0].redrive_policy).maxReceiveCount == 5
    error_message = "The buffer queue redrives to the DLQ."
  }
}

run "rejects_a_tag_instead_of_a_digest" {
  command = plan

  variables {
    image_digest = "latest"
  }

  expect_failures = [var.image_digest]
}

run "refuses_to_create_the_function_without_a_digest" {
  command = plan

  variables {
    image_digest = null
  }

  expect_failures = [aws_lambda_function.this]
}

run "refuses_a_digest_pushed_to_another_repository" {
  command = plan

  variables {
    image_repository_url = "some-other-registry/sentiment-analysis"
  }

  expect_failures = [aws_lambda_function.this]
}

run "refuses_a_model_outside_the_readable_prefix" {
  command = plan

  variables {
    model_object_key = "other/model.tar.gz"
  }

  expect_failures = [aws_lambda_function.this]
}

run "passes_the_model_checksum_to_the_function" {
  command = apply

  variables {
    model_sha256 = "4f2a0c9e6b1d3a5c7e9f0b2d4c6a8e1f3b5d7c9a0e2f4b6d8c1a3e5f7b9d0c2e"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["MODEL_SHA256"] == "4f2a0c9e6b1d3a5c7e9f0b2d4c6a8e1f3b5d7c9a0e2f4b6d8c1a3e5f7b9d0c2e"
    error_message = "model_sha256 must reach the function as MODEL_SHA256."
  }
}

run "rejects_a_malformed_model_checksum" {
  command = plan

  variables {
    model_sha256 = "sha256:4f2a0c9e6b1d3a5c7e9f0b2d4c6a8e1f3b5d7c9a0e2f4b6d8c1a3e5f7b9d0c2e"
  }

  expect_failures = [var.model_sha256]
}

run "rejects_too_little_ephemeral_storage" {
  command = plan

  variables {
    ephemeral_storage_size = 512
  }

  expect_failures = [var.ephemeral_storage_size]
}

run "accepts_an_explicit_reservation" {
  command = plan

  variables {
    reserved_concurrent_executions = 3
  }

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 3
    error_message = "An explicit reservation must reach the function."
  }
}

run "rejects_a_zero_reservation" {
  command = plan

  variables {
    reserved_concurrent_executions = 0
  }

  expect_failures = [var.reserved_concurrent_executions]
}

run "deploy_role_policy_for_an_existing_key" {
  command = apply

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-1111-1111-111111111111"
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && length(aws_kms_alias.this) == 0
    error_message = "With kms_key_arn the module must not create a key."
  }

  assert {
    condition     = aws_sqs_queue.rejects.kms_master_key_id == var.kms_key_arn
    error_message = "The rejects queue is encrypted with the key passed in."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.deploy_role_kms.statement) == 4 && alltrue([for s in data.aws_iam_policy_document.deploy_role_kms.statement : s.resources == toset([var.kms_key_arn])])
    error_message = "For a key passed in, the deploy role may use it (grants, environment) but not administer it, and nothing else."
  }
}
