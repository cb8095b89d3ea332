output "buffer_queue_url" {
  description = "URL of the example's buffer queue."
  value       = module.analysis_lambda.buffer_queue_url
}
