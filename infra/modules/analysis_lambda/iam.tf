################################################################################
# Execution role: exactly what the handler does, on exactly its own resources.
# No managed policies (AWSLambdaBasicExecutionRole grants logs on every log group).
################################################################################

resource "aws_iam_role" "this" {
  name                 = var.function_name
  description          = "Execution role of the ${var.function_name} Lambda function"
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  permissions_boundary = var.role_permissions_boundary_arn

  tags = local.tags
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumesThisRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.function_name}-runtime"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.runtime.json
}

data "aws_iam_policy_document" "runtime" {
  # Only the stream-level calls: the log group itself is created by Terraform (lambda.tf).
  statement {
    sid       = "WriteOwnLogGroup"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:log-stream:*"]
  }

  # X-Ray's write APIs have no resource-level permissions: AWS only accepts "*" here.
  # They send trace segments, they read no data.
  statement {
    sid       = "WriteTraces"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadModelArtifacts"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.model_objects_arn]
  }

  # The writer uses conditional UpdateItem only (no Put/Delete/Scan).
  statement {
    sid       = "UpdateResults"
    effect    = "Allow"
    actions   = ["dynamodb:UpdateItem"]
    resources = [var.dynamodb_table_arn]
  }

  # On-failure destination of asynchronous invocations.
  statement {
    sid       = "SendFailuresToDlq"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  # The handler dead-letters each rejected record to the rejects queue. Send only: receiving and
  # deleting them is the redrive tool's job (//tools/rejects:redrive), run with an operator's credentials.
  statement {
    sid       = "SendRejectsToRejectsQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.rejects.arn]
  }

  # Lambda's SQS poller runs with this role.
  dynamic "statement" {
    for_each = var.enable_sqs_buffer ? [1] : []

    content {
      sid       = "ConsumeBufferQueue"
      effect    = "Allow"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [aws_sqs_queue.buffer[0].arn]
    }
  }

  # Decrypt what the poller receives and encrypt what goes to the DLQ and the rejects queue (SQS calls
  # KMS with this role's credentials; SendMessage to an SSE-KMS queue needs GenerateDataKey and Decrypt).
  # Lambda decrypts the environment as this role through a grant it creates at deploy time; this
  # permission keeps that working if the grant is lost (e.g. the role is recreated).
  # Pulling the image needs nothing here: see ecr.tf.
  statement {
    sid       = "UseModuleKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]
  }

  dynamic "statement" {
    for_each = var.model_bucket_kms_key_arn == null ? [] : [var.model_bucket_kms_key_arn]

    content {
      sid       = "DecryptModelObjects"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.dynamodb_kms_key_arn == null ? [] : [var.dynamodb_kms_key_arn]

    content {
      sid       = "UseTableKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com"]
      }
    }
  }
}
