terraform {
  # 1.7 is the first release whose `terraform test` has mock providers (tests/*.tftest.hcl rely on them).
  required_version = ">= 1.7.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.x: logging_config on aws_lambda_function and the ECR/SQS arguments used here; 6.x is a breaking major.
      version = "~> 5.80"
    }
  }
}
