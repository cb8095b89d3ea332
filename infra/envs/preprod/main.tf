module "analysis_lambda" {
  source = "../../modules/analysis_lambda"

  function_name = var.function_name

  # Digest handoff: both come from image.auto.tfvars.json, written by
  # `tools/bazel run //lambdas/analysis:push` (infra/README.md).
  image_digest         = var.image_digest
  image_repository_url = var.image_repository_url

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  ephemeral_storage_size         = var.ephemeral_storage_size
  reserved_concurrent_executions = var.reserved_concurrent_executions

  model_version        = var.model_version
  confidence_threshold = var.confidence_threshold
  model_bucket_name    = var.model_bucket_name
  model_key_prefix     = var.model_key_prefix
  model_object_key     = var.model_object_key
  # CI passes TF_VAR_model_sha256 from a GitHub variable, which is "" while unset; the module wants null then.
  model_sha256 = var.model_sha256 == "" ? null : var.model_sha256

  dynamodb_table_arn = var.dynamodb_table_arn
  sns_topic_arn      = var.sns_topic_arn
  enable_sqs_buffer  = var.enable_sqs_buffer

  log_retention_in_days = var.log_retention_in_days
  alarm_sns_topic_arn   = var.alarm_sns_topic_arn
}
