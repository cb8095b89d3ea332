# The SNS -> SQS -> Lambda variant of the module with placeholder inputs. Not deployed anywhere:
# it exists so `terraform validate` and checkov (infra/tests) also cover the resources that only
# exist when enable_sqs_buffer = true (preprod uses the direct SNS path by default).

provider "aws" {
  region = "eu-west-1"
}

module "analysis_lambda" {
  source = "../../modules/analysis_lambda"

  function_name = "sentiment-analysis-example"
  image_digest  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

  model_version      = "distilbert-sst2-v1"
  model_bucket_name  = "example-sentiment-models"
  model_key_prefix   = "models/distilbert/"
  model_object_key   = "models/distilbert/v1/model.tar.gz"
  dynamodb_table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/sentiment-items"
  sns_topic_arn      = "arn:aws:sns:eu-west-1:123456789012:sentiment-items-to-analyse"

  enable_sqs_buffer                      = true
  sqs_batch_size                         = 10
  sqs_maximum_batching_window_in_seconds = 5
  sqs_maximum_concurrency                = 5
  alarm_sns_topic_arn                    = "arn:aws:sns:eu-west-1:123456789012:ops-alarms"
}
