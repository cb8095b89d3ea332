data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  ecr_repository_name = coalesce(var.ecr_repository_name, lower(var.function_name))

  # Known before the function exists, so policies that must name it (ECR, KMS) do not depend on it.
  function_arn   = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.function_name}"
  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"

  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  # Alias of the module's own key; alias operations are authorised on the alias and on the key.
  kms_alias_name = "alias/${var.function_name}"
  kms_alias_arn  = "arn:${local.partition}:kms:${local.region}:${local.account_id}:${local.kms_alias_name}"

  dynamodb_table_name = element(split("/", var.dynamodb_table_arn), 1)

  # The one place the prefix becomes an ARN: reads are confined to it.
  model_objects_arn = "arn:${local.partition}:s3:::${var.model_bucket_name}/${var.model_key_prefix}*"
  model_s3_uri      = "s3://${var.model_bucket_name}/${var.model_object_key}"

  # SQS recommends a visibility timeout of six times the function timeout, plus the batching window,
  # so a message is not handed to a second poller while the first is still retrying it.
  sqs_visibility_timeout_seconds = min(43200, 6 * var.timeout + var.sqs_maximum_batching_window_in_seconds)

  # The redrive tool receives a rejected record, invokes the function synchronously with it and deletes
  # it once that invocation succeeded: one invocation (at most the timeout) plus 60 s for the tool's own
  # calls. A replay that fails makes the record visible again soon after. At most 960 s (SQS allows 12 h).
  rejects_visibility_timeout_seconds = var.timeout + 60

  # compact(): CI passes an unset GitHub variable as "", which means "no topic" too.
  alarm_actions = var.alarm_sns_topic_arn == null ? [] : compact([var.alarm_sns_topic_arn])

  tags = merge(var.tags, { "analysis-lambda/function" = var.function_name })
}
