# "Recording ready" without code: the uploader writes a recording's media, then manifest.json as
# its commit marker (README, "Manifest"), so the creation of that one object means the recording is
# complete and verified in S3. The bucket sends its events to EventBridge; a rule matches only the
# manifests below recording_prefix and publishes a short JSON message to an SNS topic, which
# recording_ready_emails (or any other SNS subscriber) receive.

locals {
  recording_ready = var.enable_recording_ready && local.create_bucket

  # The uploader's default template (internal/keytmpl.Default) when none is configured.
  key_template = coalesce(var.recording_key_template, "{prefix}/{yyyy}/{mm}/{dd}/{room}/{session}/{file}")
  # The manifest's key is the template rendered with {file} = manifest.json. When {file} ends the
  # template, the key ends with the literal text before {file} (usually "/") and "manifest.json";
  # null otherwise (a precondition on the rule refuses it). keytmpl refuses "*" and "\" in a
  # template, and recording_prefix cannot hold them, so neither needs escaping in the wildcard.
  manifest_key_literal = try(regex("([^{}]*)\\{file\\}$", local.key_template)[0], null)
  # One wildcard filter: EventBridge ORs the filters of one array ([{"prefix": ...}, {"suffix":
  # ...}] would match every key below the prefix and every manifest.json elsewhere), and one "*"
  # in a wildcard matches any characters, "/" included (EventBridge User Guide, "Comparison
  # operators for use in event patterns", wildcard matching).
  manifest_key_pattern = local.manifest_key_literal == null ? null : "${var.recording_prefix}/*${local.manifest_key_literal}manifest.json"

  recording_ready_topic = "${local.prefix}-recording-ready"
  # Built from its parts: the key policy cannot refer to the topic, whose encryption refers to the key.
  recording_ready_topic_arn = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.recording_ready_topic}"

  recording_ready_pattern = {
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [local.bucket_name] }
      object = { key = [{ wildcard = local.manifest_key_pattern }] }
    }
  }
}

# A bucket has one notification configuration, and this resource owns all of it: any other
# notification of the recording bucket (SQS, Lambda, SNS) must be added here, not in a second
# aws_s3_bucket_notification, or the two overwrite each other on every apply.
resource "aws_s3_bucket_notification" "recordings" {
  count       = local.recording_ready ? 1 : 0
  bucket      = aws_s3_bucket.recordings[0].id
  eventbridge = true
}

resource "aws_cloudwatch_event_rule" "recording_ready" {
  count         = local.recording_ready ? 1 : 0
  name          = local.recording_ready_topic
  description   = "manifest.json written below s3://${local.bucket_name}/${var.recording_prefix}/: the recording is complete in S3"
  event_pattern = jsonencode(local.recording_ready_pattern)

  lifecycle {
    precondition {
      condition     = local.manifest_key_pattern != null
      error_message = "recording_key_template must end with {file} for the recording-ready rule to find manifest.json keys (or set enable_recording_ready = false)."
    }
  }
}

# SNS receives a JSON message (readable in an e-mail and parseable by any other subscriber); the
# raw S3 event would be three times longer. Keys with "version-id" etc. are the S3 event's
# (S3 User Guide, "EventBridge event message structure").
resource "aws_cloudwatch_event_target" "recording_ready" {
  count     = local.recording_ready ? 1 : 0
  rule      = aws_cloudwatch_event_rule.recording_ready[0].name
  target_id = "sns"
  arn       = aws_sns_topic.recording_ready[0].arn

  input_transformer {
    input_paths = {
      bucket  = "$.detail.bucket.name"
      key     = "$.detail.object.key"
      version = "$.detail.object.version-id"
      size    = "$.detail.object.size"
      time    = "$.time"
    }
    input_template = <<-EOT
      {
        "event": "recording-ready",
        "message": "Recording ready: s3://<bucket>/<key>",
        "bucket": <bucket>,
        "manifest_key": <key>,
        "manifest_version_id": <version>,
        "manifest_size": <size>,
        "time": <time>
      }
    EOT
  }
}

# Encrypted with the stack's customer managed key: EventBridge cannot publish to a topic encrypted
# with the AWS managed key alias/aws/sns, whose policy cannot be changed to let it (SNS Developer
# Guide, "Enable compatibility between event sources from AWS services and encrypted topics"). The
# key policy's EventBridgeToSNS statement (kms.tf) grants it.
resource "aws_sns_topic" "recording_ready" {
  count             = local.recording_ready ? 1 : 0
  name              = local.recording_ready_topic
  kms_master_key_id = aws_kms_key.main.arn
}

# Only this rule may publish (EventBridge User Guide, "Amazon SNS permissions": the topic policy
# must allow events.amazonaws.com; aws:SourceArn keeps other rules and accounts out). The account
# keeps managing the topic through IAM: a same-account principal needs no topic policy statement.
resource "aws_sns_topic_policy" "recording_ready" {
  count = local.recording_ready ? 1 : 0
  arn   = aws_sns_topic.recording_ready[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "RecordingReadyRulePublishes"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.recording_ready[0].arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.recording_ready[0].arn } }
    }]
  })
}

# Each address gets a confirmation mail from AWS and receives nothing until it follows the link.
resource "aws_sns_topic_subscription" "recording_ready" {
  for_each  = local.recording_ready ? toset(var.recording_ready_emails) : toset([])
  topic_arn = aws_sns_topic.recording_ready[0].arn
  protocol  = "email"
  endpoint  = each.value
}
