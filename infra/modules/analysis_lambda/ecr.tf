################################################################################
# Image repository. It must exist, and hold the image, before the function can be
# created: see infra/README.md for the two-phase first apply.
################################################################################

resource "aws_ecr_repository" "this" {
  name = local.ecr_repository_name
  # Immutable tags: a tag can never be re-pointed at other content. The function is
  # deployed by digest anyway; this keeps tags trustworthy for humans too.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = local.kms_key_arn
  }

  tags = local.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the ${var.ecr_keep_image_count} most recent images"
      selection = {
        # "any": the push step may push by digest only, leaving images untagged.
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.ecr_keep_image_count
      }
      action = { type = "expire" }
    }]
  })
}

# Lambda pulls the image with its service principal, not with the function's role:
# the repository policy is what authorises it, and only for this function. Neither needs
# KMS permissions for the encrypted layers: ECR decrypts them through the grants it created
# on the key when the repository was created (infra/README.md, "Deploy role: KMS permissions").
resource "aws_ecr_repository_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.ecr_lambda_pull.json
}

data "aws_iam_policy_document" "ecr_lambda_pull" {
  statement {
    sid     = "LambdaPullsForThisFunction"
    effect  = "Allow"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.function_arn]
    }
  }
}
