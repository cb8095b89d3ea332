################################################################################
# The function, its log group and its asynchronous-invocation failure handling
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  # Created here rather than by Lambda on first invoke, so retention and encryption apply from the start.
  name              = local.log_group_name
  retention_in_days = var.log_retention_in_days
  kms_key_id        = local.kms_key_arn

  tags = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failed asynchronous events go to the SQS on-failure destination (aws_lambda_function_event_invoke_config), which records the error too; a DLQ as well would receive every failure twice.
  #checkov:skip=CKV_AWS_117:The function only calls regional AWS APIs (S3, DynamoDB, X-Ray, Logs); a VPC would add NAT or endpoints and cold-start latency with no private resource to reach.
  #checkov:skip=CKV_AWS_272:Lambda code signing applies to .zip packages only; this image is pinned by digest in an immutable, scan-on-push ECR repository.

  function_name = var.function_name
  description   = "Sentiment analysis of SNS/SQS items with DistilBERT on CPU"
  role          = aws_iam_role.this.arn

  package_type = "Image"
  # By digest, never by tag: what was tested and pushed is exactly what runs, and a
  # re-pushed tag cannot change a deployed function behind Terraform's back.
  image_uri     = "${aws_ecr_repository.this.repository_url}@${var.image_digest}"
  architectures = ["x86_64"]

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  publish                        = var.publish
  kms_key_arn                    = local.kms_key_arn

  ephemeral_storage {
    size = var.ephemeral_storage_size
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format            = "JSON"
    application_log_level = var.application_log_level
    system_log_level      = "WARN"
    log_group             = aws_cloudwatch_log_group.this.name
  }

  dynamic "image_config" {
    for_each = length(var.image_config_command) + length(var.image_config_entry_point) > 0 || var.image_config_working_directory != null ? [1] : []

    content {
      command           = length(var.image_config_command) > 0 ? var.image_config_command : null
      entry_point       = length(var.image_config_entry_point) > 0 ? var.image_config_entry_point : null
      working_directory = var.image_config_working_directory
    }
  }

  environment {
    # The module's own keys win: extra variables cannot silently repoint the table or the model.
    variables = merge(
      var.extra_environment_variables,
      var.model_sha256 == null ? {} : { MODEL_SHA256 = var.model_sha256 },
      {
        DYNAMODB_TABLE               = local.dynamodb_table_name
        MODEL_S3_URI                 = local.model_s3_uri
        MODEL_VERSION                = var.model_version
        CONFIDENCE_THRESHOLD         = tostring(var.confidence_threshold)
        POWERTOOLS_SERVICE_NAME      = var.powertools_service_name
        POWERTOOLS_METRICS_NAMESPACE = var.powertools_metrics_namespace
        # Where the handler dead-letters every record it rejects (bad input), with the reason.
        REJECTS_QUEUE_URL = aws_sqs_queue.rejects.url
      },
    )
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.image_digest != null
      error_message = "image_digest is not set. Push the image first (it writes infra/envs/preprod/image.auto.tfvars.json); on the very first apply, create the ECR repository alone with -target (infra/README.md)."
    }

    precondition {
      condition     = var.image_repository_url == null || var.image_repository_url == aws_ecr_repository.this.repository_url
      error_message = "The image was pushed to a different repository than the one this configuration manages; refusing to deploy its digest."
    }

    precondition {
      condition     = startswith(var.model_object_key, var.model_key_prefix)
      error_message = "model_object_key must start with model_key_prefix: the function may only read objects under that prefix."
    }
  }

  # The role's permissions (logs in particular) must exist before the first invocation can happen,
  # and the repository policy before Lambda tries to pull.
  depends_on = [
    aws_iam_role_policy.this,
    aws_ecr_repository_policy.this,
  ]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dlq.arn
    }
  }
}

################################################################################
# Dead-letter queue: failed asynchronous invocations (on-failure destination) and,
# with the SQS buffer, messages that exhausted their receives (redrive policy).
################################################################################

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.function_name}-dlq"
  message_retention_seconds         = var.dlq_message_retention_seconds
  kms_master_key_id                 = local.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  tags = local.tags
}

################################################################################
# Rejects queue: records the handler cannot process (bad input: not JSON, missing
# fields, unknown model version...) are sent here one by one with the reason, so
# none is lost and they can be replayed once the cause is fixed
# (tools/bazel run //tools/rejects:redrive). Separate from the DLQ: these are not
# failed invocations, and retrying them unchanged would only reject them again.
################################################################################

resource "aws_sqs_queue" "rejects" {
  name = "${var.function_name}-rejects"
  # The SQS maximum (14 days): the time there is to fix the producer or the function and replay.
  message_retention_seconds = 1209600
  # Long enough for the redrive tool to replay one record, short enough to retry a failed replay soon (main.tf).
  visibility_timeout_seconds        = local.rejects_visibility_timeout_seconds
  kms_master_key_id                 = local.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  tags = local.tags
}
