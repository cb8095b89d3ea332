provider "aws" {
  region = var.aws_region

  # Refuses to run against any other account: credentials for the wrong account fail at plan,
  # before anything is read or changed. Empty list = no restriction (local experiments only).
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = merge(var.tags, {
      environment = "preprod"
      managed-by  = "terraform"
      component   = "analysis-lambda"
    })
  }
}
