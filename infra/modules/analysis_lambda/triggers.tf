################################################################################
# Trigger. Exactly one path is active, so an item is never analysed twice:
#   enable_sqs_buffer = false  SNS -> Lambda        (asynchronous invoke)
#   enable_sqs_buffer = true   SNS -> SQS -> Lambda (batched poll, partial failures)
################################################################################

# --- SNS -> Lambda -------------------------------------------------------------

resource "aws_lambda_permission" "sns" {
  count = var.enable_sqs_buffer ? 0 : 1

  statement_id  = "AllowInvokeFromAnalysisTopic"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "sns.amazonaws.com"
  # Only this topic may invoke; without source_arn any topic in any account could.
  source_arn = var.sns_topic_arn
}

resource "aws_sns_topic_subscription" "lambda" {
  count = var.enable_sqs_buffer ? 0 : 1

  topic_arn = var.sns_topic_arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.this.arn

  depends_on = [aws_lambda_permission.sns]
}

# --- SNS -> SQS -> Lambda --------------------------------------------------------

resource "aws_sqs_queue" "buffer" {
  count = var.enable_sqs_buffer ? 1 : 0

  name                              = "${var.function_name}-buffer"
  visibility_timeout_seconds        = local.sqs_visibility_timeout_seconds
  message_retention_seconds         = var.sqs_message_retention_seconds
  kms_master_key_id                 = local.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.sqs_max_receive_count
  })

  tags = local.tags
}

# The DLQ accepts redrives from the buffer queue only.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  count = var.enable_sqs_buffer ? 1 : 0

  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.buffer[0].arn]
  })
}

resource "aws_sqs_queue_policy" "buffer" {
  count = var.enable_sqs_buffer ? 1 : 0

  queue_url = aws_sqs_queue.buffer[0].id
  policy    = data.aws_iam_policy_document.buffer_queue[0].json
}

data "aws_iam_policy_document" "buffer_queue" {
  count = var.enable_sqs_buffer ? 1 : 0

  statement {
    sid       = "OnlyTheAnalysisTopicSends"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.buffer[0].arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.sns_topic_arn]
    }
  }
}

resource "aws_sns_topic_subscription" "sqs" {
  count = var.enable_sqs_buffer ? 1 : 0

  topic_arn            = var.sns_topic_arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.buffer[0].arn
  raw_message_delivery = var.sns_raw_message_delivery

  # SNS checks the queue policy when subscribing.
  depends_on = [aws_sqs_queue_policy.buffer]
}

resource "aws_lambda_event_source_mapping" "sqs" {
  count = var.enable_sqs_buffer ? 1 : 0

  event_source_arn                   = aws_sqs_queue.buffer[0].arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.sqs_batch_size
  maximum_batching_window_in_seconds = var.sqs_maximum_batching_window_in_seconds
  # The handler reports failed records individually; only those are retried.
  function_response_types = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.sqs_maximum_concurrency == null ? [] : [var.sqs_maximum_concurrency]

    content {
      maximum_concurrency = scaling_config.value
    }
  }

  # The poller needs sqs:ReceiveMessage before it starts.
  depends_on = [aws_iam_role_policy.this]
}
