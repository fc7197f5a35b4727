# Offline applies against mocked providers: asserts the guide's numbers and the stack's guarantees.
# Run with `tofu test` (see infra/ci/check.sh for the offline provider setup); infra/ci/check.sh also
# runs them with `terraform test` and a real hashicorp/aws build where one is present. (apply, not
# plan: terraform's mocks fill computed values only at apply unless override_during = plan, which
# OpenTofu does not accept.) The fixes of issue 10 are asserted in deployable.tftest.hcl.
# No assert relies on `&&` short-circuiting: conditions that could fail to evaluate are split or
# guarded with try().

# Every mocked ARN and id below has the form the real hashicorp/aws provider validates, so these
# tests also run against it (infra/ci/check.sh runs them with a real provider where one exists).
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

variables {
  domain          = "meet.example.com"
  certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  alarm_email     = "ops@example.com"
  jibri_image     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/jibri-s3:stable-11146-2"
  recwatch_image  = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/recwatch:stable-11146-2"
  confwatch_image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/confwatch:stable-11146-2"
}

run "guide_defaults" {
  command = apply

  assert {
    condition     = alltrue([var.task_cpu == 4096, var.task_memory == 8192, var.enable_recording, var.max_participants == 50, var.environment == "prod"])
    error_message = "guide defaults changed: task_cpu 4096, task_memory 8192, enable_recording true, max_participants 50, environment prod"
  }
  assert {
    condition     = alltrue([aws_ecs_task_definition.jibri[0].cpu == "4096", aws_ecs_task_definition.jibri[0].memory == "8192", aws_ecs_task_definition.jvb.cpu == "4096", aws_ecs_task_definition.jvb.memory == "8192"])
    error_message = "JVB and Jibri tasks must use task_cpu / task_memory"
  }
  assert {
    condition     = contains([for e in jsondecode(aws_ecs_task_definition.core.container_definitions)[0].environment : "${e.name}=${e.value}"], "MAX_PARTICIPANTS=50")
    error_message = "prosody must get MAX_PARTICIPANTS from max_participants"
  }
}

run "recording_bucket" {
  command = plan

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.recordings[0].rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
    error_message = "the bucket must default to SSE-KMS"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.recordings[0].rule).apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.main.arn
    error_message = "SSE-KMS must use the stack's customer managed key"
  }
  assert {
    condition     = aws_kms_key.main.enable_key_rotation
    error_message = "the customer key must rotate"
  }
  assert {
    condition     = aws_s3_bucket_versioning.recordings[0].versioning_configuration[0].status == "Enabled"
    error_message = "versioning must be enabled"
  }
  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.recordings[0].block_public_acls,
      aws_s3_bucket_public_access_block.recordings[0].block_public_policy,
      aws_s3_bucket_public_access_block.recordings[0].ignore_public_acls,
      aws_s3_bucket_public_access_block.recordings[0].restrict_public_buckets,
    ])
    error_message = "all four public access blocks must be on"
  }
  assert {
    condition = anytrue([for s in jsondecode(aws_s3_bucket_policy.recordings[0].policy).Statement :
      alltrue([s.Effect == "Deny", s.Action == "s3:*", try(s.Condition.Bool["aws:SecureTransport"], "") == "false",
      try(toset(s.Resource), toset([])) == toset([aws_s3_bucket.recordings[0].arn, "${aws_s3_bucket.recordings[0].arn}/*"])])
    ])
    error_message = "the bucket policy must deny every request without TLS"
  }
  assert {
    condition = anytrue([for s in jsondecode(aws_s3_bucket_policy.recordings[0].policy).Statement :
      alltrue([s.Effect == "Deny", s.Action == "s3:PutObject", try(s.Condition.StringNotEqualsIfExists["s3:x-amz-server-side-encryption"], "") == "aws:kms"])
    ])
    error_message = "the bucket policy must deny puts asking for another encryption"
  }
  assert {
    condition = anytrue([for s in jsondecode(aws_s3_bucket_policy.recordings[0].policy).Statement :
      alltrue([s.Effect == "Deny", try(s.Condition.StringNotEqualsIfExists["s3:x-amz-server-side-encryption-aws-kms-key-id"], "") == aws_kms_key.main.arn])
    ])
    error_message = "the bucket policy must deny puts with another KMS key"
  }
  assert {
    condition = anytrue([for r in aws_s3_bucket_lifecycle_configuration.recordings[0].rule :
      alltrue([r.status == "Enabled", try(one(r.abort_incomplete_multipart_upload).days_after_initiation, 0) == 7])
    ])
    error_message = "incomplete multipart uploads must be aborted after 7 days"
  }
  assert {
    condition = anytrue([for r in aws_s3_bucket_lifecycle_configuration.recordings[0].rule :
      alltrue([r.status == "Enabled", try(one(r.noncurrent_version_expiration).noncurrent_days, 0) == 30])
    ])
    error_message = "noncurrent versions must expire"
  }
  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.recordings[0].rule) == 2
    error_message = "no transition rule unless transition_days is set"
  }
}

run "logs_alarms_dashboard" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_group.ecs.retention_in_days == 30
    error_message = "log retention must be 30 days"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.utilization) == 6
    error_message = "CPU and memory alarms for core, jvb and jibri expected"
  }
  assert {
    condition = alltrue([for a in aws_cloudwatch_metric_alarm.utilization :
      alltrue([a.threshold == 80, a.comparison_operator == "GreaterThanThreshold", contains(a.alarm_actions, aws_sns_topic.alarms.arn)])
    ])
    error_message = "utilization alarms must fire above 80% to the SNS topic"
  }
  assert {
    condition     = toset([for a in aws_cloudwatch_metric_alarm.utilization : a.metric_name]) == toset(["CPUUtilization", "MemoryUtilization"])
    error_message = "alarms on CPU and memory"
  }
  assert {
    condition     = alltrue([aws_sns_topic_subscription.email[0].protocol == "email", aws_sns_topic_subscription.email[0].endpoint == "ops@example.com"])
    error_message = "alarm_email must be subscribed"
  }
  assert {
    condition     = alltrue([aws_cloudwatch_metric_alarm.recording_success[0].threshold == 95, aws_cloudwatch_metric_alarm.recording_success[0].comparison_operator == "LessThanThreshold", contains(aws_cloudwatch_metric_alarm.recording_success[0].alarm_actions, aws_sns_topic.alarms.arn)])
    error_message = "recording success-rate alarm below 95% to SNS"
  }
  assert {
    condition     = toset([for q in aws_cloudwatch_metric_alarm.recording_success[0].metric_query : try(q.metric[0].metric_name, "")]) == toset(["", "RecordingsUploaded", "RecordingsFailed"])
    error_message = "the success rate must come from the uploader's RecordingsUploaded and RecordingsFailed"
  }
  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.main.dashboard_body).widgets) == 6
    error_message = "dashboard: health, load balancer, participants/conferences, utilization, recording activity, success rate"
  }
}

run "autoscaling" {
  command = plan

  assert {
    condition     = keys(aws_appautoscaling_target.service) == ["jibri", "jvb"]
    error_message = "JVB and Jibri scale; the core task does not"
  }
  assert {
    condition     = alltrue([for t in aws_appautoscaling_target.service : t.max_capacity == 3])
    error_message = "max 3 tasks each"
  }
  assert {
    condition = alltrue([
      aws_appautoscaling_policy.jvb_cpu.policy_type == "TargetTrackingScaling",
      aws_appautoscaling_policy.jvb_cpu.target_tracking_scaling_policy_configuration[0].target_value == 70,
      aws_appautoscaling_policy.jvb_cpu.target_tracking_scaling_policy_configuration[0].scale_in_cooldown == 300,
      aws_appautoscaling_policy.jvb_cpu.target_tracking_scaling_policy_configuration[0].scale_out_cooldown == 300,
      aws_appautoscaling_policy.jvb_cpu.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ECSServiceAverageCPUUtilization",
    ])
    error_message = "JVB: target tracking on CPU at 70% with 300 s cooldowns"
  }
  assert {
    condition = alltrue(flatten([for cp in aws_ecs_capacity_provider.host : [
      cp.auto_scaling_group_provider[0].managed_scaling[0].status == "ENABLED",
      cp.auto_scaling_group_provider[0].managed_termination_protection == "ENABLED",
    ]]))
    error_message = "capacity providers: managed scaling and termination protection"
  }
  assert {
    condition     = alltrue(flatten([for g in aws_autoscaling_group.host : [g.min_size == 0, g.protect_from_scale_in]]))
    error_message = "host groups follow the tasks (min 0) and are protected from scale-in"
  }
}

run "iam_least_privilege" {
  command = plan

  assert {
    condition = alltrue(flatten([for f, p in aws_iam_role_policy.execution :
    [for s in jsondecode(p.policy).Statement : [for r in s.Resource : r != "*"]]]))
    error_message = "no wildcard resource in the execution roles"
  }
  assert {
    condition     = alltrue(flatten([for s in jsondecode(aws_iam_role_policy.uploader[0].policy).Statement : [for r in s.Resource : r != "*"]]))
    error_message = "no wildcard resource in the uploader role"
  }
  assert {
    condition = alltrue(flatten([for s in jsondecode(aws_iam_role_policy.uploader[0].policy).Statement : [for r in s.Resource :
      r == "${aws_s3_bucket.recordings[0].arn}/recordings/*" if anytrue([for a in s.Action : alltrue([startswith(a, "s3:"), !startswith(a, "s3:ListBucket")])])
    ]]))
    error_message = "object actions only on the bucket's recordings prefix"
  }
  assert {
    condition = alltrue(flatten([for s in jsondecode(aws_iam_role_policy.uploader[0].policy).Statement : [for r in s.Resource :
      alltrue([r == aws_s3_bucket.recordings[0].arn, s.Action == ["s3:ListBucketMultipartUploads"]]) if anytrue([for a in s.Action : startswith(a, "s3:ListBucket")])
    ]]))
    error_message = "on the bucket itself only the listing of multipart uploads"
  }
  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.uploader[0].policy).Statement : s.Action])) == toset([
      "s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:GetObjectVersion", "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads",
      "ecs:UpdateTaskProtection", "ecs:GetTaskProtection",
      "elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite",
      "kms:GenerateDataKey", "kms:Decrypt",
    ])
    error_message = "the uploader may only put (with tags), multipart, get and get-version (HEAD), find its multipart uploads, use the key, mount the recordings file system and protect its task"
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.uploader[0].policy).Statement : s.Resource if contains(s.Action, "kms:GenerateDataKey")] == [[aws_kms_key.main.arn]]
    error_message = "KMS use only on the stack's key"
  }
  assert {
    condition     = aws_ecs_task_definition.jibri[0].task_role_arn == aws_iam_role.uploader[0].arn
    error_message = "the Jibri task gets the uploader role"
  }
  assert {
    condition     = alltrue([aws_ecs_task_definition.core.task_role_arn != aws_iam_role.uploader[0].arn, aws_ecs_task_definition.jvb.task_role_arn != aws_iam_role.uploader[0].arn])
    error_message = "only the Jibri task gets the uploader role"
  }
}

run "containers" {
  command = plan

  assert {
    condition     = [for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) : c.linuxParameters.sharedMemorySize if c.name == "jibri"][0] >= 2048
    error_message = "Jibri needs /dev/shm of at least 2048 MiB"
  }
  assert {
    condition     = aws_ecs_task_definition.jibri[0].requires_compatibilities == toset(["EC2"])
    error_message = "Jibri runs on EC2 (Fargate cannot set sharedMemorySize)"
  }
  assert {
    condition     = toset([for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) : c.name]) == toset(["jibri", "recwatch"])
    error_message = "Jibri runs with the recwatch sidecar"
  }
  assert {
    condition = alltrue([for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) :
      contains([for m in c.mountPoints : "${m.sourceVolume}:${m.containerPath}"], "recordings:/storage/recordings")
    ])
    error_message = "Jibri and recwatch share the recordings volume"
  }
  assert {
    condition = alltrue([for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) :
      contains(c.environment, { name = "JIBRI_UPLOAD_DEADLINE", value = c.name == "recwatch" ? "1h" : "10m" })
    ])
    error_message = "the hook gets 10 minutes per attempt (Jibri waits for it), the sidecar an hour"
  }
  assert {
    # Jibri stays BUSY until the finalize program exits (jibri's finalize runner waits with no
    # timeout): the hook hands long uploads to recwatch after its hold.
    condition = alltrue([for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) :
      c.name != "jibri" || contains(c.environment, { name = "JIBRI_UPLOAD_HOLD", value = "auto" })
    ])
    error_message = "the Jibri hook hands off to recwatch after its hold (JIBRI_UPLOAD_HOLD=auto)"
  }
  assert {
    condition = alltrue([for td in [aws_ecs_task_definition.core, aws_ecs_task_definition.jvb, aws_ecs_task_definition.jibri[0]] :
      alltrue([for c in jsondecode(td.container_definitions) : c.readonlyRootFilesystem])
    ])
    error_message = "every container runs with a read-only root"
  }
  assert {
    condition = alltrue([for td in [aws_ecs_task_definition.core, aws_ecs_task_definition.jvb, aws_ecs_task_definition.jibri[0]] :
      alltrue(flatten([for c in jsondecode(td.container_definitions) : [for e in c.environment : alltrue([!strcontains(e.name, "PASSWORD"), !strcontains(e.name, "SECRET"), !strcontains(e.name, "CREDENTIALS")])]]))
    ])
    error_message = "no password in plain container environment"
  }
  assert {
    condition = alltrue([for td in [aws_ecs_task_definition.core, aws_ecs_task_definition.jvb, aws_ecs_task_definition.jibri[0]] :
      alltrue(flatten([for c in jsondecode(td.container_definitions) : [for s in try(c.secrets, []) : startswith(s.valueFrom, "${aws_secretsmanager_secret.jitsi.arn}:${s.name}::")]]))
    ])
    error_message = "secrets come from JSON keys of the one secret"
  }
  assert {
    condition     = toset(keys(jsondecode(aws_secretsmanager_secret_version.jitsi.secret_string))) == toset(["JICOFO_AUTH_PASSWORD", "JICOFO_COMPONENT_SECRET", "JVB_AUTH_PASSWORD", "JIBRI_XMPP_PASSWORD", "JIBRI_RECORDER_PASSWORD", "JIGASI_XMPP_PASSWORD", "JIGASI_TRANSCRIBER_PASSWORD"])
    error_message = "the secret holds every Jitsi password"
  }
  assert {
    condition     = alltrue([for p in random_password.jitsi : p.length >= 32])
    error_message = "random passwords of 32 characters"
  }
  assert {
    condition     = contains([for e in [for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) : c if c.name == "jibri"][0].environment : "${e.name}=${e.value}"], "JIBRI_FINALIZE_RECORDING_SCRIPT_PATH=/usr/local/bin/finalize")
    error_message = "Jibri calls our finalize program"
  }
  assert {
    condition = alltrue([for e in ["JVB_ADVERTISE_PRIVATE_CANDIDATES=false", "COLIBRI_REST_ENABLED=true", "JVB_PORT=10000"] :
      contains([for e in jsondecode(aws_ecs_task_definition.jvb.container_definitions)[0].environment : "${e.name}=${e.value}"], e)
    ])
    error_message = "JVB: private candidates filtered, Colibri REST on (loopback, see deployable.tftest.hcl), UDP 10000"
  }
  assert {
    condition     = aws_ecs_task_definition.jvb.network_mode == "host"
    error_message = "JVB runs in host network mode"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.jvb.container_definitions)[0].portMappings[0].hostPort == 10000
    error_message = "JVB listens on the host's UDP 10000"
  }
}

run "network_exposure" {
  command = plan

  assert {
    condition     = toset([for r in aws_security_group_rule.public_ingress : "${r.protocol}/${r.from_port}"]) == toset(["tcp/443", "tcp/80", "udp/10000"])
    error_message = "only 443, 80 and UDP 10000 are open to the internet"
  }
  assert {
    condition     = alltrue([for r in aws_security_group_rule.internal_ingress : contains([aws_security_group.alb.id, aws_security_group.jvb.id, aws_security_group.jibri.id], r.source_security_group_id)])
    error_message = "internal ingress only from security groups"
  }
  assert {
    condition     = alltrue([aws_lb_listener.https.protocol == "HTTPS", aws_lb_listener.https.certificate_arn == var.certificate_arn, aws_lb_listener.http.default_action[0].type == "redirect"])
    error_message = "HTTPS with the ACM certificate; HTTP redirects"
  }
  assert {
    condition     = aws_lb.main.drop_invalid_header_fields
    error_message = "the ALB drops invalid headers"
  }
  assert {
    condition     = alltrue([length(aws_subnet.public) == 2, length(aws_subnet.private) == 2, length(toset(aws_subnet.private[*].availability_zone)) == 2])
    error_message = "public and private subnets in two AZs"
  }
  assert {
    condition     = alltrue(flatten([for lt in aws_launch_template.host : [lt.metadata_options[0].http_tokens == "required", lt.block_device_mappings[0].ebs[0].encrypted == "true"]]))
    error_message = "hosts: IMDSv2 only, encrypted disks"
  }
}

run "recording_disabled" {
  command = apply

  variables {
    enable_recording = false
  }

  assert {
    condition     = alltrue([length(aws_ecs_task_definition.jibri) == 0, length(aws_ecs_service.jibri) == 0, length(aws_iam_role.uploader) == 0, length(aws_efs_file_system.recordings) == 0])
    error_message = "enable_recording = false removes Jibri, its role and its file system"
  }
  assert {
    condition     = alltrue([length(aws_cloudwatch_metric_alarm.recording_success) == 0, keys(aws_appautoscaling_target.service) == ["jvb"], length(aws_cloudwatch_metric_alarm.jibri_idle) == 0])
    error_message = "no recording alarm and no Jibri scaling without recording"
  }
  assert {
    condition     = length(aws_s3_bucket.recordings) == 1
    error_message = "the bucket stays unless create_recording_bucket = false"
  }
  assert {
    condition     = contains([for e in jsondecode(aws_ecs_task_definition.core.container_definitions)[0].environment : "${e.name}=${e.value}"], "ENABLE_RECORDING=0")
    error_message = "prosody must not create the recorder account"
  }
  assert {
    condition     = aws_lambda_function.rotation.environment[0].variables.ECS_SERVICES == "jitsi-video-platform-service,jitsi-video-platform-jvb"
    error_message = "without Jibri the rotation rolls core and jvb only"
  }
}

run "no_bucket" {
  command = apply

  variables {
    enable_recording        = false
    create_recording_bucket = false
  }

  assert {
    condition     = length(aws_s3_bucket.recordings) == 0
    error_message = "create_recording_bucket = false creates no bucket"
  }
  assert {
    condition     = output.recording_bucket == null
    error_message = "no bucket, no bucket output"
  }
}

run "sse_s3" {
  command = apply

  variables {
    recording_sse   = "AES256"
    transition_days = 90
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.recordings[0].rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "recording_sse = AES256 selects SSE-S3"
  }
  assert {
    condition     = !anytrue([for s in jsondecode(aws_iam_role_policy.uploader[0].policy).Statement : contains(s.Action, "kms:GenerateDataKey")])
    error_message = "no KMS grant to the uploader with SSE-S3"
  }
  assert {
    condition     = anytrue([for r in aws_s3_bucket_lifecycle_configuration.recordings[0].rule : try(one(r.transition).days, 0) == 90])
    error_message = "transition_days adds a transition rule"
  }
}

run "existing_vpc" {
  command = apply

  variables {
    vpc_id             = "vpc-0fedcba9876543210"
    public_subnet_ids  = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
    private_subnet_ids = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
  }

  assert {
    condition     = alltrue([length(aws_vpc.main) == 0, length(aws_nat_gateway.main) == 0, length(aws_vpc_endpoint.s3) == 0])
    error_message = "an existing VPC is used as given: no VPC, NAT or endpoint created"
  }
  assert {
    condition     = aws_lb.main.subnets == toset(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"])
    error_message = "the load balancer uses the given public subnets"
  }
  assert {
    condition     = toset(aws_efs_mount_target.recordings[*].subnet_id) == toset(["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"])
    error_message = "a recordings mount target in each given private subnet"
  }
}

run "outputs" {
  command = plan

  assert {
    condition     = alltrue([output.url == "https://meet.example.com", output.secret_arn == aws_secretsmanager_secret.jitsi.arn])
    error_message = "outputs: URL, secret ARN"
  }
  assert {
    condition     = startswith(output.dashboard_url, "https://eu-west-1.console.aws.amazon.com/cloudwatch/")
    error_message = "outputs: dashboard URL"
  }
  assert {
    condition     = output.recording_bucket == "jitsi-video-platform-prod-recordings-123456789012"
    error_message = "outputs: bucket"
  }
}

run "recording_needs_bucket" {
  command = plan

  variables {
    enable_recording        = true
    create_recording_bucket = false
  }

  expect_failures = [aws_ecs_task_definition.jibri]
}

run "key_template_outside_prefix_rejected" {
  command = plan

  variables {
    recording_key_template = "elsewhere/{session}/{file}"
  }

  expect_failures = [var.recording_key_template]
}
