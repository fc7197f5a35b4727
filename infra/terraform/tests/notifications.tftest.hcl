# Offline applies against mocked providers: the recording-ready notification (S3 -> EventBridge ->
# SNS, issue 13 item 3) and the unplayable-recording alarm (issue 14 item 1). The comment above each
# run names the AWS documentation it encodes where a plan cannot show the failure. Same mocks as
# stack.tftest.hcl (each test file has its own state and providers); every mocked ARN has the form
# the real hashicorp/aws provider validates, so infra/ci/check.sh also runs these with terraform.
# No assert relies on `&&` short-circuiting: possibly absent values go through try().

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "ami-0123456789abcdef0" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      key_id = "11111111-2222-3333-4444-555555555555"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::jitsi-video-platform-prod-recordings-123456789012" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = {
      arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jitsi-video-platform-jitsi-secrets-AbCdEf"
      id  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jitsi-video-platform-jitsi-secrets-AbCdEf"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/jitsi-video-platform" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:jitsi-video-platform-prod-alarms" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/jitsi-video-platform-prod-role", id = "jitsi-video-platform-prod-role" }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/jitsi-video-platform-prod-host" }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/jitsi/0123456789abcdef"
      arn_suffix = "app/jitsi/0123456789abcdef"
    }
  }
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/jitsi/0123456789abcdef"
      arn_suffix = "targetgroup/jitsi/0123456789abcdef"
    }
  }
  mock_resource "aws_autoscaling_group" {
    defaults = { arn = "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:11111111-2222-3333-4444-555555555555:autoScalingGroupName/jitsi-host" }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = {
      arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/jitsi-video-platform-cluster"
      id  = "arn:aws:ecs:eu-west-1:123456789012:cluster/jitsi-video-platform-cluster"
    }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/jitsi-video-platform-prod:1" }
  }
  mock_resource "aws_service_discovery_service" {
    defaults = { arn = "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-0123456789abcdef" }
  }
  mock_resource "aws_appautoscaling_policy" {
    defaults = { arn = "arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:11111111-2222-3333-4444-555555555555:resource/ecs/service/jitsi-video-platform-cluster/jitsi-video-platform-jibri:policyName/jibri" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:jitsi-video-platform-rotate-secret" }
  }
  mock_resource "aws_efs_file_system" {
    defaults = {
      id  = "fs-0123456789abcdef0"
      arn = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0"
    }
  }
  mock_resource "aws_efs_access_point" {
    defaults = {
      id  = "fsap-0123456789abcdef0"
      arn = "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0"
    }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0123456789abcdef0" }
  }
  mock_resource "aws_vpc" {
    defaults = { id = "vpc-0123456789abcdef0" }
  }
  mock_resource "aws_subnet" {
    defaults = { id = "subnet-0123456789abcdef0" }
  }
  mock_resource "aws_route_table" {
    defaults = { id = "rtb-0123456789abcdef0" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:123456789012:rule/jitsi-video-platform-prod-recording-ready" }
  }
}

mock_provider "random" {}

# Distinct roles, so the tests can tell which task gets which.
override_resource {
  target = aws_iam_role.uploader
  values = { arn = "arn:aws:iam::123456789012:role/jitsi-video-platform-prod-jibri-task", id = "jitsi-video-platform-prod-jibri-task" }
}
override_resource {
  target = aws_iam_role.jvb_task
  values = { arn = "arn:aws:iam::123456789012:role/jitsi-video-platform-prod-jvb-task", id = "jitsi-video-platform-prod-jvb-task" }
}
override_resource {
  target = aws_secretsmanager_secret.operator
  values = {
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jitsi-video-platform-jitsi-secrets-operator-GhIjKl"
    id  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jitsi-video-platform-jitsi-secrets-operator-GhIjKl"
  }
}
override_resource {
  target = aws_iam_role.rotation
  values = { arn = "arn:aws:iam::123456789012:role/jitsi-video-platform-prod-rotate", id = "jitsi-video-platform-prod-rotate" }
}

# The recording-ready topic's ARN as AWS forms it from the name, distinct from the alarm topic's.
override_resource {
  target = aws_sns_topic.recording_ready
  values = { arn = "arn:aws:sns:eu-west-1:123456789012:jitsi-video-platform-prod-recording-ready" }
}

variables {
  domain                 = "meet.example.com"
  certificate_arn        = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  alarm_email            = "ops@example.com"
  recording_ready_emails = ["rec@example.com", "archive+jitsi@mail.example.org"]
  jibri_image            = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/jibri-s3:stable-11146-2"
  recwatch_image         = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/recwatch:stable-11146-2"
  confwatch_image        = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/confwatch:stable-11146-2"
}

# S3 User Guide, "Using EventBridge": with eventbridge = true the bucket sends every object event
# to the default event bus, and a bucket has one notification configuration (this resource owns
# it). EventBridge User Guide, "Comparison operators for use in event patterns": the filters of one
# array are ORed, so prefix and suffix together take one wildcard; "*" matches any characters.
# SNS Developer Guide, "Enable compatibility between event sources from AWS services and encrypted
# topics": EventBridge can publish to an encrypted topic only through a customer managed key whose
# policy lets events.amazonaws.com use it (not alias/aws/sns). EventBridge User Guide, "Amazon SNS
# permissions": the topic policy must let events.amazonaws.com publish.
run "recording_ready_from_the_manifest" {
  command = apply

  assert {
    condition     = alltrue([length(aws_s3_bucket_notification.recordings) == 1, try(aws_s3_bucket_notification.recordings[0].eventbridge, false)])
    error_message = "the recording bucket must send its events to EventBridge"
  }
  assert {
    condition     = aws_s3_bucket_notification.recordings[0].bucket == aws_s3_bucket.recordings[0].id
    error_message = "the notification must be the recording bucket's"
  }
  assert {
    condition = alltrue([
      jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern).source == ["aws.s3"],
      jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern)["detail-type"] == ["Object Created"],
      jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern).detail.bucket.name == ["jitsi-video-platform-prod-recordings-123456789012"],
    ])
    error_message = "the rule must match Object Created events of S3 for the recording bucket only"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern).detail.object.key == [{ wildcard = "recordings/*/manifest.json" }]
    error_message = "the rule must match the manifests below recording_prefix with one wildcard filter (recordings/*/manifest.json)"
  }
  assert {
    # An array of filters is an OR: [{"prefix": ...}, {"suffix": ...}] would match any object
    # below the prefix. One filter, one wildcard, nothing else.
    condition = alltrue([
      length(jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern).detail.object.key) == 1,
      keys(jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern).detail.object.key[0]) == ["wildcard"],
      length(split("*", jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern).detail.object.key[0].wildcard)) == 2,
    ])
    error_message = "the key filter must be a single wildcard with one *, not prefix and suffix filters (which EventBridge ORs)"
  }
  assert {
    # The wildcard applied to keys the uploader writes (README's example manifest key and its media).
    condition = [for k in [
      "recordings/2026/11/24/weekly-sync/abcdefghijklmnop/manifest.json",
      "recordings/2026/11/24/weekly-sync/abcdefghijklmnop/weekly-sync_2026-11-24-10-00-00.mp4",
      "recordings/2026/11/24/weekly-sync/abcdefghijklmnop/metadata.json",
      "recordings/2026/11/24/weekly-sync/abcdefghijklmnop/not-manifest.json",
      "elsewhere/2026/11/24/weekly-sync/abcdefghijklmnop/manifest.json",
      ] : alltrue([
        startswith(k, split("*", jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern).detail.object.key[0].wildcard)[0]),
        endswith(k, split("*", jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern).detail.object.key[0].wildcard)[1]),
    ])] == [true, false, false, false, false]
    error_message = "the rule must match a recording's manifest.json below the prefix and nothing else"
  }
  assert {
    condition = alltrue([
      aws_cloudwatch_event_target.recording_ready[0].rule == aws_cloudwatch_event_rule.recording_ready[0].name,
      aws_cloudwatch_event_target.recording_ready[0].arn == aws_sns_topic.recording_ready[0].arn,
      aws_sns_topic.recording_ready[0].arn != aws_sns_topic.alarms.arn,
    ])
    error_message = "the rule's target must be the recording-ready topic (not the alarm topic)"
  }
  assert {
    condition = aws_cloudwatch_event_target.recording_ready[0].input_transformer[0].input_paths == tomap({
      bucket  = "$.detail.bucket.name"
      key     = "$.detail.object.key"
      version = "$.detail.object.version-id"
      size    = "$.detail.object.size"
      time    = "$.time"
    })
    error_message = "the message must carry bucket, key, version id, size and time of the manifest"
  }
  assert {
    # Every placeholder of the template is defined, and the template is JSON once each is filled
    # (1 stands for a value both inside and outside quotes).
    condition = alltrue([
      toset(flatten(regexall("<([a-z]+)>", aws_cloudwatch_event_target.recording_ready[0].input_transformer[0].input_template))) == toset(keys(aws_cloudwatch_event_target.recording_ready[0].input_transformer[0].input_paths)),
      keys(jsondecode(replace(aws_cloudwatch_event_target.recording_ready[0].input_transformer[0].input_template, "/<[a-z]+>/", "1"))) == ["bucket", "event", "manifest_key", "manifest_size", "manifest_version_id", "message", "time"],
    ])
    error_message = "the input template must be JSON with every placeholder defined in input_paths"
  }
  assert {
    condition     = alltrue([aws_sns_topic.recording_ready[0].kms_master_key_id == aws_kms_key.main.arn, !strcontains(aws_sns_topic.recording_ready[0].kms_master_key_id, "alias/aws/sns")])
    error_message = "the topic must be encrypted with the stack's customer managed key: EventBridge cannot use alias/aws/sns"
  }
  assert {
    condition = anytrue([for s in jsondecode(aws_kms_key.main.policy).Statement : alltrue([
      s.Effect == "Allow",
      try(s.Principal.Service, "") == "events.amazonaws.com",
      try(toset(s.Action), toset([])) == toset(["kms:Decrypt", "kms:GenerateDataKey*"]),
      try(s.Condition.StringEquals["kms:EncryptionContext:aws:sns:topicArn"], "") == aws_sns_topic.recording_ready[0].arn,
    ])])
    error_message = "the key policy must let EventBridge use the key (kms:Decrypt, kms:GenerateDataKey*) for the recording-ready topic"
  }
  assert {
    condition = alltrue([
      length(jsondecode(aws_sns_topic_policy.recording_ready[0].policy).Statement) == 1,
      aws_sns_topic_policy.recording_ready[0].arn == aws_sns_topic.recording_ready[0].arn,
    ])
    error_message = "the recording-ready topic must have exactly its own policy, with one statement"
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_sns_topic_policy.recording_ready[0].policy).Statement : alltrue([
      s.Effect == "Allow",
      try(s.Principal.Service, "") == "events.amazonaws.com",
      s.Action == "sns:Publish",
      s.Resource == aws_sns_topic.recording_ready[0].arn,
      try(s.Condition.ArnEquals["aws:SourceArn"], "") == aws_cloudwatch_event_rule.recording_ready[0].arn,
    ])])
    error_message = "the topic policy must let events.amazonaws.com publish only for the recording-ready rule (aws:SourceArn)"
  }
  assert {
    condition = alltrue([
      length(aws_sns_topic_subscription.recording_ready) == length(var.recording_ready_emails),
      toset([for s in aws_sns_topic_subscription.recording_ready : s.endpoint]) == toset(["rec@example.com", "archive+jitsi@mail.example.org"]),
      alltrue([for s in aws_sns_topic_subscription.recording_ready : s.protocol == "email" && s.topic_arn == aws_sns_topic.recording_ready[0].arn]),
    ])
    error_message = "one e-mail subscription to the recording-ready topic per recording_ready_emails address"
  }
  assert {
    condition     = output.recording_ready_topic_arn == aws_sns_topic.recording_ready[0].arn
    error_message = "output recording_ready_topic_arn must be the topic's ARN"
  }
}

# The manifest's key follows recording_prefix and recording_key_template.
run "recording_ready_follows_the_key_template" {
  command = plan

  variables {
    recording_prefix       = "meet/rec"
    recording_key_template = "{prefix}/{room}/{session}/rec-{file}"
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.recording_ready[0].event_pattern).detail.object.key == [{ wildcard = "meet/rec/*/rec-manifest.json" }]
    error_message = "the wildcard must be the prefix, *, and what the template puts before {file}, then manifest.json"
  }
}

# A template whose {file} is not last renders keys that do not end in manifest.json: refused.
run "recording_ready_needs_file_last" {
  command = plan

  variables {
    recording_key_template = "{prefix}/{file}/{session}"
  }

  expect_failures = [aws_cloudwatch_event_rule.recording_ready]
}

run "recording_ready_email_validated" {
  command = plan

  variables {
    recording_ready_emails = ["rec@example.com", "not an address"]
  }

  expect_failures = [var.recording_ready_emails]
}

run "recording_ready_email_twice_rejected" {
  command = plan

  variables {
    recording_ready_emails = ["rec@example.com", "rec@example.com"]
  }

  expect_failures = [var.recording_ready_emails]
}

# Issue 14 item 1: every finalized recording emits Unplayable (EMF, internal/metrics, namespace
# Jitsi/Recordings unless JIBRI_UPLOAD_METRICS_NAMESPACE says otherwise, dimension Environment =
# JIBRI_UPLOAD_ENVIRONMENT); one unplayable recording in 5 minutes alarms.
run "unplayable_recording_alarm" {
  command = plan

  assert {
    condition = alltrue([
      aws_cloudwatch_metric_alarm.unplayable[0].namespace == "Jitsi/Recordings",
      aws_cloudwatch_metric_alarm.unplayable[0].metric_name == "Unplayable",
      aws_cloudwatch_metric_alarm.unplayable[0].dimensions == tomap({ Environment = "prod" }),
      aws_cloudwatch_metric_alarm.unplayable[0].statistic == "Sum",
      aws_cloudwatch_metric_alarm.unplayable[0].period == 300,
      aws_cloudwatch_metric_alarm.unplayable[0].evaluation_periods == 1,
      aws_cloudwatch_metric_alarm.unplayable[0].comparison_operator == "GreaterThanThreshold",
      aws_cloudwatch_metric_alarm.unplayable[0].threshold == 0,
      aws_cloudwatch_metric_alarm.unplayable[0].treat_missing_data == "notBreaching",
    ])
    error_message = "Unplayable alarm: Sum over 300 s > 0 in Jitsi/Recordings, Environment dimension, no data is not an alarm"
  }
  assert {
    condition     = alltrue([length(aws_cloudwatch_metric_alarm.unplayable[0].alarm_actions) == 1, contains(aws_cloudwatch_metric_alarm.unplayable[0].alarm_actions, aws_sns_topic.alarms.arn)])
    error_message = "the Unplayable alarm must notify the alarm topic"
  }
  assert {
    condition = alltrue([for w in ["moov", "docs/media.md", "S3"] :
    strcontains(aws_cloudwatch_metric_alarm.unplayable[0].alarm_description, w)])
    error_message = "the alarm description must say what happened (no moov index) and where the repair is described"
  }
  assert {
    # The uploaders publish where the alarm looks: recwatch's configured namespace and environment,
    # and finalize in the jibri container on the default namespace (internal/config).
    condition = alltrue([for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) : alltrue([
      lookup({ for e in c.environment : e.name => e.value }, "JIBRI_UPLOAD_METRICS_NAMESPACE", "Jitsi/Recordings") == aws_cloudwatch_metric_alarm.unplayable[0].namespace,
      lookup({ for e in c.environment : e.name => e.value }, "JIBRI_UPLOAD_ENVIRONMENT", "") == aws_cloudwatch_metric_alarm.unplayable[0].dimensions.Environment,
    ]) if contains(["jibri", "recwatch"], c.name)])
    error_message = "the alarm's namespace and Environment must be those the jibri and recwatch containers publish with"
  }
}

run "recording_ready_disabled" {
  command = apply

  variables {
    enable_recording_ready = false
  }

  assert {
    condition = alltrue([
      length(aws_s3_bucket_notification.recordings) == 0, length(aws_cloudwatch_event_rule.recording_ready) == 0,
      length(aws_cloudwatch_event_target.recording_ready) == 0, length(aws_sns_topic.recording_ready) == 0,
      length(aws_sns_topic_policy.recording_ready) == 0, length(aws_sns_topic_subscription.recording_ready) == 0,
    ])
    error_message = "enable_recording_ready = false creates no notification, rule, topic or subscription"
  }
  assert {
    condition     = !anytrue([for s in jsondecode(aws_kms_key.main.policy).Statement : try(s.Principal.Service, "") == "events.amazonaws.com"])
    error_message = "no key grant to EventBridge without the recording-ready topic"
  }
  assert {
    condition     = output.recording_ready_topic_arn == null
    error_message = "no topic, no topic output"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.unplayable) == 1
    error_message = "the Unplayable alarm does not depend on the notification"
  }
}

run "no_bucket_no_notification" {
  command = apply

  variables {
    enable_recording        = false
    create_recording_bucket = false
  }

  assert {
    condition     = alltrue([length(aws_s3_bucket_notification.recordings) == 0, length(aws_sns_topic.recording_ready) == 0, length(aws_sns_topic_subscription.recording_ready) == 0])
    error_message = "without the stack's bucket there is nothing to notify about"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.unplayable) == 0
    error_message = "no Unplayable alarm without recording"
  }
}
