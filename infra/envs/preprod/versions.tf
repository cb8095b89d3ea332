terraform {
  # 1.10+: the S3 backend locks with a lock object in the state bucket (use_lockfile), no DynamoDB table needed.
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Partial configuration: nothing account-specific is committed. Supply the rest at init, e.g.
  #   terraform init \
  #     -backend-config="bucket=<state bucket>" \
  #     -backend-config="key=analysis-lambda/preprod.tfstate" \
  #     -backend-config="region=<region>" \
  #     -backend-config="use_lockfile=true" \
  #     -backend-config="encrypt=true"
  # or put those lines in an uncommitted backend.hcl and pass -backend-config=backend.hcl.
  backend "s3" {}
}
