################################################################################
# One customer managed key for everything this module stores at rest:
# image layers (ECR), logs, the buffer queue, the DLQ, the rejects queue and the environment variables.
################################################################################

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "Encrypts the ${var.function_name} image repository, log group, queues and environment"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  policy                  = jsonencode({ Version = "2012-10-17", Statement = local.kms_key_policy_statements })

  tags = local.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = local.kms_alias_name
  target_key_id = aws_kms_key.this[0].key_id
}

locals {
  # Written as JSON rather than an aws_iam_policy_document: it is a key policy, where the resource "*"
  # means this key and nothing else, and generic IAM-document scanners misread that as "every resource".
  kms_key_policy_statements = concat(
    [
      {
        # Delegates the key to IAM in this account (the AWS default model), with the actions spelled
        # out instead of kms:*. The function's role gets its usage rights from its own IAM policy (iam.tf).
        Sid       = "AccountAdministersAndDelegatesViaIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Resource  = "*"
        Action = [
          "kms:CancelKeyDeletion",
          "kms:CreateAlias",
          "kms:CreateGrant",
          "kms:Decrypt",
          "kms:DeleteAlias",
          "kms:DescribeKey",
          "kms:DisableKey",
          "kms:DisableKeyRotation",
          "kms:EnableKey",
          "kms:EnableKeyRotation",
          "kms:Encrypt",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:GetKeyPolicy",
          "kms:GetKeyRotationStatus",
          "kms:ListAliases",
          "kms:ListGrants",
          "kms:ListKeyPolicies",
          "kms:ListResourceTags",
          "kms:PutKeyPolicy",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
          "kms:RetireGrant",
          "kms:RevokeGrant",
          "kms:RotateKeyOnDemand",
          "kms:ScheduleKeyDeletion",
          "kms:TagResource",
          "kms:UntagResource",
          "kms:UpdateAlias",
          "kms:UpdateKeyDescription",
        ]
      },
      {
        # CloudWatch Logs encrypts with the key itself, so it needs a key-policy grant; the encryption
        # context condition limits it to this function's log group.
        Sid       = "CloudWatchLogsForThisLogGroup"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Resource  = "*"
        Action = [
          "kms:Decrypt",
          "kms:DescribeKey",
          "kms:Encrypt",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
        ]
        Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = local.log_group_arn } }
      },
    ],
    # SNS must encrypt what it delivers to the encrypted buffer queue; only the given topic may.
    var.enable_sqs_buffer ? [
      {
        Sid       = "SnsTopicToEncryptedQueue"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Resource  = "*"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Condition = { ArnEquals = { "aws:SourceArn" = var.sns_topic_arn } }
      },
    ] : [],
  )
}
