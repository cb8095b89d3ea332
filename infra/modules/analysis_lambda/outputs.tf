output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "function_version" {
  description = "Latest published version ($LATEST unless publish = true)."
  value       = aws_lambda_function.this.version
}

output "image_uri" {
  description = "repository@digest the function runs."
  value       = aws_lambda_function.this.image_uri
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "ecr_repository_url" {
  description = "URL the push step pushes to (image_repository_url in image.auto.tfvars.json must equal it)."
  value       = aws_ecr_repository.this.repository_url
}

output "ecr_repository_arn" {
  description = "ARN of the ECR repository (scope a CI push role to it)."
  value       = aws_ecr_repository.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue (for inspection and redrive)."
  value       = aws_sqs_queue.dlq.id
}

output "rejects_queue_url" {
  description = "URL of the rejects queue, where the function dead-letters records it cannot process (--queue-url of tools/bazel run //tools/rejects:redrive)."
  value       = aws_sqs_queue.rejects.url
}

output "rejects_queue_arn" {
  description = "ARN of the rejects queue (scope the permissions of whoever inspects and replays rejects to it)."
  value       = aws_sqs_queue.rejects.arn
}

output "buffer_queue_arn" {
  description = "ARN of the SNS-fed buffer queue, or null when enable_sqs_buffer is false."
  value       = one(aws_sqs_queue.buffer[*].arn)
}

output "buffer_queue_url" {
  description = "URL of the SNS-fed buffer queue, or null when enable_sqs_buffer is false."
  value       = one(aws_sqs_queue.buffer[*].id)
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the repository, logs, queues and environment."
  value       = local.kms_key_arn
}

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms, by purpose (empty when create_alarms is false)."
  value       = { for purpose, alarm in aws_cloudwatch_metric_alarm.this : purpose => alarm.arn }
}

output "deploy_role_kms_policy_json" {
  description = "IAM policy (JSON) with the KMS permissions the role running terraform apply needs on this module's key: grants for ECR and Lambda, the function's environment through Lambda, and administration of the key and alias the module creates. Scoped to those ARNs; attach it to the CI deploy role (infra/README.md)."
  value       = data.aws_iam_policy_document.deploy_role_kms.json
}
