################################################################################
# Digest handoff. These two are exactly the keys of image.auto.tfvars.json, which
# the push step writes next to this file (Terraform loads *.auto.tfvars.json itself).
################################################################################

variable "image_digest" {
  description = "Digest of the image the push step pushed (sha256:<64 hex>). null only for the first, -target'ed apply that creates the ECR repository."
  type        = string
  default     = null

  validation {
    condition     = var.image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be sha256:<64 lowercase hex characters>, never a tag."
  }
}

variable "image_repository_url" {
  description = "Repository URL the push step pushed to; plan fails unless it is this environment's ECR repository."
  type        = string
  default     = null
}

################################################################################
# Account and region
################################################################################

variable "aws_region" {
  description = "Region of the preprod deployment (the SNS topic, table and bucket live there)."
  type        = string
  default     = "eu-west-1"
}

variable "allowed_account_ids" {
  description = "AWS account IDs this configuration may run against (the provider refuses any other). Set it in CI."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.allowed_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "allowed_account_ids must contain 12-digit account IDs."
  }
}

variable "tags" {
  description = "Extra tags for every resource (environment, managed-by and component are always set)."
  type        = map(string)
  default     = {}
}

################################################################################
# Function
################################################################################

variable "function_name" {
  description = "Name of the Lambda function (and of its repository, queues, role and log group)."
  type        = string
  default     = "sentiment-analysis-preprod"
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 2048
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 120
}

variable "ephemeral_storage_size" {
  description = "Size of /tmp in MB (at least 1024: the model is downloaded and unpacked there)."
  type        = number
  default     = 2048
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function. -1 (default): no reservation, because preprod accounts often sit at the unreserved-concurrency minimum and Lambda then rejects any reservation. A whole number >= 1 reserves and caps (the module validates it; 0 is refused)."
  type        = number
  default     = -1
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365
}

################################################################################
# Existing resources and application settings
################################################################################

variable "model_version" {
  description = "MODEL_VERSION the function serves."
  type        = string
}

variable "confidence_threshold" {
  description = "CONFIDENCE_THRESHOLD below which no label is written."
  type        = number
  default     = 0.6
}

variable "model_bucket_name" {
  description = "Existing S3 bucket holding the model tarball."
  type        = string
}

variable "model_key_prefix" {
  description = "Key prefix the function may read under (for example \"models/distilbert/\")."
  type        = string
}

variable "model_object_key" {
  description = "Key of the model tarball; must start with model_key_prefix."
  type        = string
}

variable "model_sha256" {
  description = "Expected SHA-256 of the model tarball (MODEL_SHA256 printed by //tools/model:publish), or null to skip the check. An empty string (an unset GitHub variable arriving as TF_VAR_model_sha256) counts as null."
  type        = string
  default     = null
}

variable "dynamodb_table_arn" {
  description = "ARN of the existing results table."
  type        = string
}

variable "sns_topic_arn" {
  description = "ARN of the existing topic items are published to."
  type        = string
}

variable "enable_sqs_buffer" {
  description = "Route the topic through an SQS buffer queue (batched, partial-failure reporting) instead of invoking the function directly."
  type        = bool
  default     = false
}

variable "alarm_sns_topic_arn" {
  description = "Topic notified by the alarms, or null for no notifications."
  type        = string
  default     = null
}
