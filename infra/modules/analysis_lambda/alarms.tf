################################################################################
# Alarms: one resource over a map, as the five differ only in metric, statistic and threshold. Each fires when
# its metric exceeds the threshold in one period. Missing data is "not breaching": an idle function is healthy.
################################################################################

locals {
  lambda_dimensions = { FunctionName = aws_lambda_function.this.function_name }

  alarms = {
    errors = {
      name        = "${var.function_name}-errors"
      description = "Invocations of ${var.function_name} ended in an error (after partial-batch handling, a whole-invocation failure)."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = local.lambda_dimensions
      statistic   = "Sum"
      threshold   = var.alarm_errors_threshold
    }
    throttles = {
      name        = "${var.function_name}-throttles"
      description = "${var.function_name} was throttled (its reserved concurrency, or the account's when none is reserved); events are being delayed (and, past retries, sent to the DLQ)."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = local.lambda_dimensions
      statistic   = "Sum"
      threshold   = 0
    }
    duration = {
      name        = "${var.function_name}-duration-near-timeout"
      description = "The slowest invocation of ${var.function_name} used more than ${var.alarm_duration_threshold_percent}% of its ${var.timeout} s timeout; timeouts (and lost batches) are next."
      namespace   = "AWS/Lambda"
      metric      = "Duration"
      dimensions  = local.lambda_dimensions
      statistic   = "Maximum"
      # Duration is reported in milliseconds.
      threshold = var.timeout * 1000 * var.alarm_duration_threshold_percent / 100
    }
    dlq_depth = {
      name        = "${var.function_name}-dlq-not-empty"
      description = "Events of ${var.function_name} failed for good and wait in ${aws_sqs_queue.dlq.name}; inspect and redrive them."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.dlq.name }
      statistic   = "Maximum"
      threshold   = 0
    }
    # A rejected record is bad input, not a failure: retries cannot help, someone has to look.
    rejects_depth = {
      name        = "${var.function_name}-rejects-not-empty"
      description = "${var.function_name} rejected records it cannot process and dead-lettered them to ${aws_sqs_queue.rejects.name} (kept 14 days). Inspect the reasons they carry, fix the producer or the function, then replay them: tools/bazel run //tools/rejects:redrive -- --queue-url ${aws_sqs_queue.rejects.url} --function ${var.function_name}"
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.rejects.name }
      statistic   = "Maximum"
      threshold   = 0
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.create_alarms ? local.alarms : {}

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = local.tags
}

# The first four alarms were count-based resources: move them, so an upgrade does not delete and
# recreate them. rejects_depth never had a count-based form.
moved {
  from = aws_cloudwatch_metric_alarm.errors[0]
  to   = aws_cloudwatch_metric_alarm.this["errors"]
}

moved {
  from = aws_cloudwatch_metric_alarm.throttles[0]
  to   = aws_cloudwatch_metric_alarm.this["throttles"]
}

moved {
  from = aws_cloudwatch_metric_alarm.duration[0]
  to   = aws_cloudwatch_metric_alarm.this["duration"]
}

moved {
  from = aws_cloudwatch_metric_alarm.dlq_depth[0]
  to   = aws_cloudwatch_metric_alarm.this["dlq_depth"]
}
