################################################################################
# Alarms. Missing data is "not breaching": an idle function is healthy.
################################################################################

resource "aws_cloudwatch_metric_alarm" "errors" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.function_name}-errors"
  alarm_description   = "Invocations of ${var.function_name} ended in an error (after partial-batch handling, a whole-invocation failure)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_errors_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.function_name}-throttles"
  alarm_description   = "${var.function_name} was throttled (its reserved concurrency, or the account's when none is reserved); events are being delayed (and, past retries, sent to the DLQ)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "duration" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.function_name}-duration-near-timeout"
  alarm_description   = "The slowest invocation of ${var.function_name} used more than ${var.alarm_duration_threshold_percent}% of its ${var.timeout} s timeout; timeouts (and lost batches) are next."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  # Duration is reported in milliseconds.
  threshold          = var.timeout * 1000 * var.alarm_duration_threshold_percent / 100
  treat_missing_data = "notBreaching"
  alarm_actions      = local.alarm_actions
  ok_actions         = local.alarm_actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.function_name}-dlq-not-empty"
  alarm_description   = "Events of ${var.function_name} failed for good and wait in ${aws_sqs_queue.dlq.name}; inspect and redrive them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = local.tags
}
