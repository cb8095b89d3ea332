output "function_name" {
  description = "Name of the deployed Lambda function."
  value       = module.analysis_lambda.function_name
}

output "function_arn" {
  description = "ARN of the deployed Lambda function."
  value       = module.analysis_lambda.function_arn
}

output "image_uri" {
  description = "repository@digest the function runs."
  value       = module.analysis_lambda.image_uri
}

output "ecr_repository_url" {
  description = "Where the push step pushes; set it as the CI variable ANALYSIS_ECR_REPOSITORY_URL after the first apply."
  value       = module.analysis_lambda.ecr_repository_url
}

output "dlq_url" {
  description = "Dead-letter queue to inspect and redrive."
  value       = module.analysis_lambda.dlq_url
}

output "rejects_queue_url" {
  description = "Rejects queue: records the function could not process, to inspect and replay with tools/bazel run //tools/rejects:redrive -- --queue-url <this> --function <function_name>."
  value       = module.analysis_lambda.rejects_queue_url
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = module.analysis_lambda.log_group_name
}

output "deploy_role_kms_policy_json" {
  description = "KMS permissions (IAM policy JSON) the CI deploy role (AWS_DEPLOY_ROLE_ARN) needs on this environment's key, scoped to its ARN; attach it after the first apply (infra/README.md)."
  value       = module.analysis_lambda.deploy_role_kms_policy_json
}
