output "buffer_queue_url" {
  description = "URL of the example's buffer queue."
  value       = module.analysis_lambda.buffer_queue_url
}

output "rejects_queue_url" {
  description = "URL of the example's rejects queue (records the function could not process)."
  value       = module.analysis_lambda.rejects_queue_url
}
