################################################################################
# KMS permissions of the principal that runs `terraform apply` (the CI deploy role),
# as an IAM policy scoped to this module's key. The deploy role lives outside this
# configuration, so the module only renders the document (output
# deploy_role_kms_policy_json); infra/README.md cites the AWS documentation behind
# each statement. Nothing here needs Resource "*": the key-independent calls
# (kms:CreateKey, kms:ListAliases) are listed in the README instead.
################################################################################

data "aws_iam_policy_document" "deploy_role_kms" {
  # ECR (when creating the repository) and Lambda (when setting the function's key) create
  # grants for themselves with the caller's permission. The condition limits this role to grants
  # that an AWS service requests on its behalf.
  statement {
    sid       = "ServicesCreateGrantsOnModuleKey"
    effect    = "Allow"
    actions   = ["kms:CreateGrant"]
    resources = [local.kms_key_arn]

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  # ECR validates the key when the repository is created; Terraform reads it on every refresh.
  statement {
    sid       = "DescribeModuleKey"
    effect    = "Allow"
    actions   = ["kms:DescribeKey"]
    resources = [local.kms_key_arn]
  }

  # Deleting the repository retires ECR's grants with the deleting principal's permission,
  # which AWS requires in an IAM policy (the key policy is not enough).
  statement {
    sid       = "RetireEcrGrantsOnRepositoryDelete"
    effect    = "Allow"
    actions   = ["kms:RetireGrant"]
    resources = [local.kms_key_arn]
  }

  # Lambda encrypts the environment when the function is created or updated and decrypts it
  # when Terraform reads the function back. Only through Lambda: this role cannot decrypt
  # queue messages or logs with the key directly.
  statement {
    sid       = "LambdaEnvironmentThroughLambda"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt"]
    resources = [local.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["lambda.${local.region}.amazonaws.com"]
    }
  }

  # Administration of the key this module creates: what Terraform calls to read, update,
  # rotate, tag and (on destroy) schedule the deletion of aws_kms_key.this. Not granted for a
  # key passed in through kms_key_arn, which is administered elsewhere.
  dynamic "statement" {
    for_each = local.create_kms_key ? [1] : []

    content {
      sid    = "AdministerModuleKey"
      effect = "Allow"
      actions = [
        "kms:EnableKeyRotation",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:UpdateKeyDescription",
      ]
      resources = [local.kms_key_arn]
    }
  }

  # Alias operations are authorised on both the alias and the key it points to.
  dynamic "statement" {
    for_each = local.create_kms_key ? [1] : []

    content {
      sid       = "ManageModuleKeyAlias"
      effect    = "Allow"
      actions   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
      resources = [local.kms_key_arn, local.kms_alias_arn]
    }
  }
}
