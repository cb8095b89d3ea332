################################################################################
# Naming and tagging
################################################################################

variable "function_name" {
  description = "Name of the Lambda function. Also names the ECR repository, the queues, the IAM role and the log group (/aws/lambda/<name>)."
  type        = string
  default     = "sentiment-analysis"

  validation {
    # Lambda allows 64 characters; the longest derived name ("<name>-dlq") must still fit SQS's 80.
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 characters of letters, digits, hyphens and underscores."
  }
}

variable "ecr_repository_name" {
  description = "Name of the ECR repository the image is pushed to. null uses function_name (lower-cased, as ECR requires)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}

################################################################################
# Container image
################################################################################

variable "image_digest" {
  description = "Digest of the pushed image (sha256:<64 hex>), written by the push step into image.auto.tfvars.json. The function is deployed from repository@digest, never from a tag. null only while bootstrapping the ECR repository with -target."
  type        = string
  default     = null

  validation {
    condition     = var.image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must look like sha256:<64 lowercase hex characters>; a tag is not accepted."
  }
}

variable "image_repository_url" {
  description = "Repository URL the push step reports it pushed to. When set, plan fails unless it equals this module's ECR repository, so a digest pushed elsewhere is never deployed. null skips the check."
  type        = string
  default     = null
}

variable "image_config_command" {
  description = "Overrides the image CMD (for example [\"lambdas.analysis.handler.lambda_handler\"]). Empty keeps the image's own."
  type        = list(string)
  default     = []
}

variable "image_config_entry_point" {
  description = "Overrides the image ENTRYPOINT. Empty keeps the image's own."
  type        = list(string)
  default     = []
}

variable "image_config_working_directory" {
  description = "Overrides the image WORKDIR. null keeps the image's own."
  type        = string
  default     = null
}

################################################################################
# ECR
################################################################################

variable "ecr_keep_image_count" {
  description = "How many of the most recent images the ECR lifecycle policy keeps; older ones expire. Keep it above the number of pushes that can happen between two successful deploys."
  type        = number
  default     = 15

  validation {
    condition     = var.ecr_keep_image_count >= 1 && floor(var.ecr_keep_image_count) == var.ecr_keep_image_count
    error_message = "ecr_keep_image_count must be a whole number of at least 1."
  }
}

variable "ecr_force_delete" {
  description = "Whether destroying the module may delete an ECR repository that still holds images."
  type        = bool
  default     = false
}

################################################################################
# Function sizing and behaviour
################################################################################

variable "memory_size" {
  description = "Memory in MB. DistilBERT on CPU needs ~1.2 GB resident; Lambda also scales vCPUs with memory."
  type        = number
  default     = 2048

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Function timeout in seconds (cold start with model download plus one batch of inference)."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "ephemeral_storage_size" {
  description = "Size of /tmp in MB. The model is streamed from S3 and extracted there (~270 MB for DistilBERT; the tarball itself is never stored)."
  type        = number
  default     = 2048

  validation {
    condition     = var.ephemeral_storage_size >= 1024 && var.ephemeral_storage_size <= 10240
    error_message = "ephemeral_storage_size must be between 1024 and 10240 MB (the model does not fit in less than 1 GB)."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function, which also caps it. -1 (the default) reserves nothing and the function draws on the account's unreserved pool: Lambda refuses any reservation that would leave the account below its unreserved minimum, which makes a fixed default fail in new or busy accounts (\"decreases account's UnreservedConcurrentExecution below its minimum value\"). Set a whole number >= 1 where the quota allows it to cap the load on DynamoDB; with the SQS buffer, sqs_maximum_concurrency caps the poller without reserving anything. 0 is refused: it throttles every invocation."
  type        = number
  default     = -1

  validation {
    # 0 is a valid API value ("throttle everything"), but as a default-able knob it only ever
    # means an outage; pausing the function is done by removing its trigger instead.
    condition     = var.reserved_concurrent_executions == -1 || (var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions)
    error_message = "reserved_concurrent_executions must be -1 (no reservation) or a whole number of at least 1; 0 would throttle every invocation."
  }
}

variable "publish" {
  description = "Whether every code or configuration change publishes a new numbered version (useful for rollback by version)."
  type        = bool
  default     = false
}

variable "application_log_level" {
  description = "Lowest application log level Lambda forwards to CloudWatch (JSON log format)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.application_log_level)
    error_message = "application_log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

variable "extra_environment_variables" {
  description = "Additional environment variables (for example INFERENCE_BATCH_SIZE). They cannot override the ones this module sets."
  type        = map(string)
  default     = {}
}

################################################################################
# Application settings (become environment variables)
################################################################################

variable "model_version" {
  description = "Model version this function serves (MODEL_VERSION); items published for another version are rejected."
  type        = string
}

variable "confidence_threshold" {
  description = "Minimum classifier confidence for a label to be written (CONFIDENCE_THRESHOLD)."
  type        = number
  default     = 0.6

  validation {
    condition     = var.confidence_threshold >= 0 && var.confidence_threshold <= 1
    error_message = "confidence_threshold must be between 0 and 1."
  }
}

variable "powertools_service_name" {
  description = "POWERTOOLS_SERVICE_NAME: the service dimension of logs, metrics and traces."
  type        = string
  default     = "sentiment-analysis"
}

variable "powertools_metrics_namespace" {
  description = "POWERTOOLS_METRICS_NAMESPACE: CloudWatch namespace of the function's custom metrics."
  type        = string
  default     = "SentimentPipeline"
}

################################################################################
# Existing resources the function uses
################################################################################

variable "dynamodb_table_arn" {
  description = "ARN of the existing DynamoDB table results are written to. The table name (DYNAMODB_TABLE) is taken from it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]{3,255}$", var.dynamodb_table_arn))
    error_message = "dynamodb_table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>)."
  }
}

variable "dynamodb_kms_key_arn" {
  description = "ARN of the customer managed KMS key encrypting the table, if any; the function then gets kms:Decrypt/GenerateDataKey on it via DynamoDB only. null for AWS owned or AWS managed keys."
  type        = string
  default     = null
}

variable "model_bucket_name" {
  description = "Name of the existing S3 bucket holding the model tarball."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.model_bucket_name))
    error_message = "model_bucket_name must be a valid S3 bucket name."
  }
}

variable "model_key_prefix" {
  description = "Key prefix under which model artifacts live (for example \"models/distilbert/\"). The function may read objects under this prefix and nothing else."
  type        = string

  validation {
    # An empty prefix would grant the whole bucket, which is exactly what the prefix is there to prevent.
    condition     = length(var.model_key_prefix) > 0 && !startswith(var.model_key_prefix, "/") && !strcontains(var.model_key_prefix, "*")
    error_message = "model_key_prefix must be non-empty, must not start with '/' and must not contain '*'."
  }
}

variable "model_object_key" {
  description = "Key of the model tarball (MODEL_S3_URI is s3://<bucket>/<key>). Must start with model_key_prefix."
  type        = string
}

variable "model_sha256" {
  description = "Expected SHA-256 of the model tarball (MODEL_SHA256, 64 lowercase hex characters), as printed by `tools/bazel run //tools/model:publish`; the function refuses a tarball that does not match. null skips the check (the object's own sha256 metadata is still verified when present)."
  type        = string
  default     = null

  validation {
    condition     = var.model_sha256 == null || can(regex("^[0-9a-f]{64}$", var.model_sha256))
    error_message = "model_sha256 must be 64 lowercase hexadecimal characters."
  }
}

variable "model_bucket_kms_key_arn" {
  description = "ARN of the customer managed KMS key of the model bucket (SSE-KMS), if any; the function then gets kms:Decrypt on it via S3 only. null for SSE-S3."
  type        = string
  default     = null
}

variable "sns_topic_arn" {
  description = "ARN of the existing SNS topic the ingestion side publishes items to."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]{1,256}(\\.fifo)?$", var.sns_topic_arn))
    error_message = "sns_topic_arn must be an SNS topic ARN."
  }
}

################################################################################
# Trigger: SNS -> Lambda, or SNS -> SQS -> Lambda
################################################################################

variable "enable_sqs_buffer" {
  description = "false: the topic invokes the function directly (asynchronous invocation, failures go to the DLQ). true: the topic feeds an SQS queue that the function polls in batches with partial-batch failure reporting, giving back-pressure when the function's concurrency (reserved, or sqs_maximum_concurrency) is saturated."
  type        = bool
  default     = false
}

variable "sqs_batch_size" {
  description = "Maximum records per invocation when polling the queue."
  type        = number
  default     = 10

  validation {
    condition     = var.sqs_batch_size >= 1 && var.sqs_batch_size <= 10000
    error_message = "sqs_batch_size must be between 1 and 10000."
  }
}

variable "sqs_maximum_batching_window_in_seconds" {
  description = "How long the poller may wait to fill a batch. Above 0 it trades latency for fewer cold batches; required > 0 when sqs_batch_size > 10."
  type        = number
  default     = 5

  validation {
    condition     = var.sqs_maximum_batching_window_in_seconds >= 0 && var.sqs_maximum_batching_window_in_seconds <= 300
    error_message = "sqs_maximum_batching_window_in_seconds must be between 0 and 300."
  }
}

variable "sqs_maximum_concurrency" {
  description = "Upper bound of concurrent invocations the SQS poller starts (2-1000). Caps the load on DynamoDB without reserving account concurrency. null leaves it to reserved_concurrent_executions (or, unreserved, to the account's pool)."
  type        = number
  default     = null

  validation {
    condition     = var.sqs_maximum_concurrency == null ? true : (var.sqs_maximum_concurrency >= 2 && var.sqs_maximum_concurrency <= 1000)
    error_message = "sqs_maximum_concurrency must be between 2 and 1000, or null."
  }
}

variable "sqs_max_receive_count" {
  description = "Deliveries of one message before SQS moves it to the DLQ."
  type        = number
  default     = 5

  validation {
    condition     = var.sqs_max_receive_count >= 1 && var.sqs_max_receive_count <= 1000
    error_message = "sqs_max_receive_count must be between 1 and 1000."
  }
}

variable "sqs_message_retention_seconds" {
  description = "How long the buffer queue keeps an unprocessed message."
  type        = number
  default     = 345600

  validation {
    condition     = var.sqs_message_retention_seconds >= 60 && var.sqs_message_retention_seconds <= 1209600
    error_message = "sqs_message_retention_seconds must be between 60 and 1209600."
  }
}

variable "sns_raw_message_delivery" {
  description = "Deliver the bare message to SQS instead of the SNS envelope. The handler accepts both; the envelope keeps the SNS MessageId for tracing."
  type        = bool
  default     = false
}

################################################################################
# Failure handling
################################################################################

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps failed events (the maximum, 14 days, leaves time to inspect and redrive)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600."
  }
}

variable "async_maximum_retry_attempts" {
  description = "Retries of a failed asynchronous (SNS) invocation before the event goes to the on-failure destination."
  type        = number
  default     = 2

  validation {
    condition     = var.async_maximum_retry_attempts >= 0 && var.async_maximum_retry_attempts <= 2
    error_message = "async_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "async_maximum_event_age_in_seconds" {
  description = "Age after which an asynchronous event that is still being retried is sent to the on-failure destination."
  type        = number
  default     = 3600

  validation {
    condition     = var.async_maximum_event_age_in_seconds >= 60 && var.async_maximum_event_age_in_seconds <= 21600
    error_message = "async_maximum_event_age_in_seconds must be between 60 and 21600."
  }
}

################################################################################
# Logging and encryption
################################################################################

variable "log_retention_in_days" {
  description = "Retention of the /aws/lambda/<name> log group. One year by default: compliance baselines ask for it and the volume is small."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653); 0 (never expire) is not allowed."
  }
}

variable "kms_key_arn" {
  description = "ARN of an existing customer managed KMS key for the ECR repository, log group, queues and environment variables. null creates a dedicated key. An existing key's policy must already let CloudWatch Logs (for this log group) and SNS (for this topic) use it."
  type        = string
  default     = null
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before a key created by this module is deleted after destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

variable "role_permissions_boundary_arn" {
  description = "ARN of a permissions boundary attached to the function's IAM role, where the organisation requires one."
  type        = string
  default     = null
}

################################################################################
# Alarms
################################################################################

variable "create_alarms" {
  description = "Whether to create the CloudWatch alarms (errors, throttles, duration near timeout, DLQ depth, rejects queue depth)."
  type        = bool
  default     = true
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified when an alarm fires or recovers. null creates the alarms without notifications."
  type        = string
  default     = null
}

variable "alarm_period_seconds" {
  description = "Period over which each alarm evaluates its metric."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.alarm_period_seconds)
    error_message = "alarm_period_seconds must be 60, 300, 900 or 3600."
  }
}

variable "alarm_errors_threshold" {
  description = "Function errors per period above which the errors alarm fires."
  type        = number
  default     = 0
}

variable "alarm_duration_threshold_percent" {
  description = "Percentage of the timeout that the maximum duration must exceed for the duration alarm to fire."
  type        = number
  default     = 80

  validation {
    condition     = var.alarm_duration_threshold_percent > 0 && var.alarm_duration_threshold_percent < 100
    error_message = "alarm_duration_threshold_percent must be between 0 and 100 (exclusive)."
  }
}
