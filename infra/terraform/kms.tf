# One customer managed key for the stack's data at rest: recordings (when recording_sse is aws:kms),
# the recordings file system, the Jitsi secrets, the log groups, the alarm topic and the
# recording-ready topic. Not the hosts' root volumes: those use the account's EBS key (ecs.tf), so
# the Auto Scaling service-linked role needs no grant on this key.

resource "aws_kms_key" "main" {
  description             = "${local.prefix}: recordings, secrets, logs and alarms"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = jsonencode(local.kms_policy)
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.prefix}"
  target_key_id = aws_kms_key.main.key_id
}

locals {
  # The log groups encrypted with the key: the containers', the flow logs', the rotation Lambda's.
  kms_log_groups = [local.names.log_group, "/${var.name}/${var.environment}/*", "/aws/lambda/${local.names.rotation_fn}"]

  # In a key policy "Resource": "*" means this key itself (the policy is attached to it).
  kms_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = [for g in local.kms_log_groups : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${g}"] }
        }
      },
      {
        Sid       = "CloudWatchAlarmsToSNS"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
      ], local.recording_ready ? [{
        # The recording-ready rule publishes to its topic, which this key encrypts (SNS Developer
        # Guide, "Enable compatibility between event sources from AWS services and encrypted
        # topics"). SNS puts the topic's ARN in the encryption context of its data keys (the key
        # context other AWS guides condition on, e.g. GameLift's "Set up an SNS topic with
        # server-side encryption"), so the grant covers that one topic and nothing else.
        Sid       = "EventBridgeToSNS"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "kms:EncryptionContext:aws:sns:topicArn" = local.recording_ready_topic_arn }
        }
    }] : [])
  }
}
