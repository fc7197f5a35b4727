# Issue 10: the stack deployable for real. Each assert encodes an AWS (or Jitsi) rule that an
# offline plan can show, with the documentation it relies on named in a comment; what no plan can
# show is explained in ../README.md with its documentation. No assert relies on `&&`
# short-circuiting: every element of an alltrue([...]) is safe to evaluate on its own.

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


# 1. Hosts launch. EC2 Auto Scaling launches instances with its service-linked role; with a
# customer managed key on the volumes that role needs key-policy permissions and a grant, or every
# launch fails (EC2 Auto Scaling User Guide, "Required AWS KMS key policy for use with encrypted
# volumes"). The hosts use the account's default EBS key instead: no kms_key_id.
run "hosts_launch_with_default_ebs_key" {
  command = apply

  assert {
    condition     = alltrue([for lt in aws_launch_template.host : lt.block_device_mappings[0].ebs[0].kms_key_id == null])
    error_message = "root volumes must not name the stack's customer managed key (the Auto Scaling service-linked role cannot use it)"
  }
  assert {
    condition     = alltrue([for lt in aws_launch_template.host : lt.block_device_mappings[0].ebs[0].encrypted == "true"])
    error_message = "root volumes stay encrypted (with the AWS managed aws/ebs key)"
  }
  assert {
    # The key policy then needs no statement for the service-linked role (which must exist before
    # a key policy could name it).
    condition     = !strcontains(aws_kms_key.main.policy, "AWSServiceRoleForAutoScaling")
    error_message = "the stack's key policy must not depend on the Auto Scaling service-linked role"
  }
}

# 2. Tasks fit. The container agent registers the instance's memory as the OS reports it (below
# the installed memory) minus ECS_RESERVED_MEMORY, and 1024 CPU units per vCPU; a task that asks
# for more is never placed (ECS Developer Guide, "Reserving Amazon ECS Linux container instance
# memory"; "Amazon ECS container agent configuration").
run "every_task_fits_its_instance_type" {
  command = plan

  assert {
    condition     = alltrue([for t, p in output.task_placement : p.fits])
    error_message = "a task does not fit its capacity provider's instance type: ${jsonencode(output.task_placement)}"
  }
  assert {
    condition     = output.task_placement.jvb.instance_type == "m6i.xlarge"
    error_message = "the default media host must be one the guide's 4096 CPU / 8192 MiB JVB fits on (m6i.xlarge)"
  }
  assert {
    # 16384 MiB installed, 4 % not registered, 256 MiB reserved.
    condition     = output.task_placement.jvb.available_memory == 15472
    error_message = "media hosts should register 15472 MiB for tasks, got ${output.task_placement.jvb.available_memory}"
  }
  assert {
    condition     = alltrue([for k, lt in aws_launch_template.host : strcontains(base64decode(lt.user_data), "ECS_RESERVED_MEMORY=256")])
    error_message = "the agent's reservation in the user data must be the one the placement check assumes"
  }
  assert {
    condition     = keys(output.task_placement) == ["core", "jibri", "jvb"]
    error_message = "the placement check covers every task family"
  }
}

run "jvb_on_c6i_xlarge_does_not_fit" {
  command = plan
  variables {
    media_instance_type = "c6i.xlarge"
  }
  # 8192 MiB installed registers less than the task's 8192 MiB.
  expect_failures = [aws_ecs_task_definition.jvb]
}

run "unknown_instance_type_rejected" {
  command = plan
  variables {
    core_instance_type = "x9z.huge"
  }
  # Unknown to the table: the template refuses it, and the tasks of that provider cannot be checked.
  expect_failures = [aws_launch_template.host, aws_ecs_task_definition.core, aws_ecs_task_definition.jibri]
}

run "instance_type_table_validated" {
  command = plan
  variables {
    instance_types = { "c6i.xlarge" = { vcpu = 0, memory_mib = 8192 } }
  }
  expect_failures = [var.instance_types]
}

# 3. jicofo's /about/health fails while no bridge is connected (jicofo doc/health-checks.md), and
# ECS replaces a task whose essential container turns UNHEALTHY (ECS Developer Guide, "Container
# health checks" / essential containers). /about/version exists unconditionally (jicofo ktor
# Application.kt).
run "jicofo_health_does_not_depend_on_bridges" {
  command = plan

  assert {
    condition     = [for c in jsondecode(aws_ecs_task_definition.core.container_definitions) : c.name] == ["prosody", "jicofo", "web"]
    error_message = "the core task holds prosody, jicofo and web (so the filtered asserts below are not vacuous)"
  }

  assert {
    condition = alltrue([for c in jsondecode(aws_ecs_task_definition.core.container_definitions) :
    strcontains(join(" ", c.healthCheck.command), "http://127.0.0.1:8888/about/version") if c.name == "jicofo"])
    error_message = "jicofo's health check must call /about/version"
  }
  assert {
    condition     = !anytrue([for c in jsondecode(aws_ecs_task_definition.core.container_definitions) : strcontains(join(" ", try(c.healthCheck.command, [])), "/about/health") if c.name == "jicofo"])
    error_message = "jicofo must not be health-checked on /about/health (bridge-dependent)"
  }
  assert {
    condition     = !contains(flatten([for c in jsondecode(aws_ecs_task_definition.core.container_definitions) : [for e in c.environment : e.name]]), "JICOFO_ENABLE_HEALTH_CHECKS")
    error_message = "jicofo's bridge-dependent self health check is not needed"
  }
}

# 4. Recording capacity follows idle recorders; from zero tasks, missing data scales out (CloudWatch
# User Guide, "Configuring how CloudWatch alarms treat missing data"; Application Auto Scaling,
# "Step scaling policies"). JVB never goes below one task (target tracking needs a metric,
# Application Auto Scaling "Target tracking scaling policies").
run "jibri_scales_on_idle_recorders" {
  command = plan

  assert {
    condition     = keys(aws_appautoscaling_policy.jibri) == ["in", "out"]
    error_message = "Jibri: one scale-out and one scale-in step policy"
  }
  assert {
    condition     = alltrue([for k, p in aws_appautoscaling_policy.jibri : p.policy_type == "StepScaling"])
    error_message = "Jibri scales by steps on idle recorders, not by CPU or memory target tracking"
  }
  assert {
    condition = alltrue([
      one(aws_appautoscaling_policy.jibri["out"].step_scaling_policy_configuration[0].step_adjustment).scaling_adjustment == 1,
      one(aws_appautoscaling_policy.jibri["in"].step_scaling_policy_configuration[0].step_adjustment).scaling_adjustment == -1,
    ])
    error_message = "one task more when too few idle recorders, one less when too many"
  }
  assert {
    condition = alltrue([
      aws_cloudwatch_metric_alarm.jibri_idle["out"].threshold == 1,
      aws_cloudwatch_metric_alarm.jibri_idle["out"].comparison_operator == "LessThanThreshold",
      aws_cloudwatch_metric_alarm.jibri_idle["out"].treat_missing_data == "breaching",
      aws_cloudwatch_metric_alarm.jibri_idle["out"].alarm_actions == toset([aws_appautoscaling_policy.jibri["out"].arn]),
    ])
    error_message = "fewer than jibri_min_idle (1) idle recorders, or no data (zero tasks), must scale out"
  }
  assert {
    condition = alltrue([
      aws_cloudwatch_metric_alarm.jibri_idle["in"].comparison_operator == "GreaterThanThreshold",
      aws_cloudwatch_metric_alarm.jibri_idle["in"].treat_missing_data == "notBreaching",
      aws_cloudwatch_metric_alarm.jibri_idle["in"].evaluation_periods == 10,
    ])
    error_message = "scale in only after 10 minutes with more idle recorders than jibri_min_idle"
  }
  assert {
    condition = toset(flatten([for q in aws_cloudwatch_metric_alarm.jibri_idle["out"].metric_query :
      [for m in q.metric : "${m.namespace}/${m.metric_name}/${jsonencode(m.dimensions)}"]
      ])) == toset([
      "Jitsi/Recordings/IdleRecorders/{\"Environment\":\"prod\"}",
      "Jitsi/Recordings/Recorders/{\"Environment\":\"prod\"}",
      "ECS/ContainerInsights/RunningTaskCount/{\"ClusterName\":\"jitsi-video-platform-cluster\",\"ServiceName\":\"jitsi-video-platform-jibri\"}",
    ])
    error_message = "the idle-recorder count comes from recwatch's IdleRecorders/Recorders (namespace Jitsi/Recordings, dimension Environment) and the running task count"
  }
  assert {
    condition     = aws_appautoscaling_target.service["jibri"].min_capacity == 1
    error_message = "at least jibri_min_idle Jibri tasks"
  }
  assert {
    condition     = aws_appautoscaling_target.service["jvb"].min_capacity >= 1
    error_message = "JVB never scales to zero: no bridge, no meeting, and no metric to scale out of zero"
  }
  assert {
    condition = alltrue([for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) :
    contains(c.environment, { name = "JIBRI_UPLOAD_JIBRI_HEALTH_URL", value = "http://127.0.0.1:2222/jibri/api/v1.0/health" }) if c.name == "recwatch"])
    error_message = "recwatch must poll Jibri's health API (busyStatus) for the idle-recorder metric"
  }
}

run "no_host_for_a_new_bridge_rejected" {
  command = plan
  variables {
    media_max_instances = 3
  }
  # distinctInstance + 200 %: with as many hosts as bridges, a deployment has nowhere to start one.
  expect_failures = [aws_ecs_service.jvb]
}

run "jvb_minimum_zero_rejected" {
  command = plan
  variables {
    jvb_min_count = 0
  }
  expect_failures = [var.jvb_min_count]
}

# 5. Bridges deploy without a gap and are not stopped with live conferences: a deployment with
# minimumHealthyPercent 100 starts new tasks first (ECS Developer Guide, "Rolling update"); task
# scale-in protection keeps a task through scale-in and deployments (ECS Developer Guide, "Protect
# your Amazon ECS tasks from being terminated by scale-in events"); on shutdown dependencies
# reverse (ECS API ContainerDependency), so confwatch, which depends on jvb, is stopped first and
# waits for JVB's graceful shutdown (jitsi-videobridge /colibri/shutdown) within its stopTimeout,
# which on EC2 is not capped at Fargate's 120 s (ECS API ContainerDefinition stopTimeout).
run "jvb_deploys_and_drains_gracefully" {
  command = plan

  assert {
    condition     = alltrue([aws_ecs_service.jvb.deployment_minimum_healthy_percent == 100, aws_ecs_service.jvb.deployment_maximum_percent == 200])
    error_message = "JVB deploys at 100%/200%"
  }
  assert {
    condition     = toset([for c in jsondecode(aws_ecs_task_definition.jvb.container_definitions) : c.name]) == toset(["jvb", "confwatch"])
    error_message = "the JVB task runs the confwatch sidecar"
  }
  assert {
    condition = alltrue(flatten([for c in jsondecode(aws_ecs_task_definition.jvb.container_definitions) : [
      !c.essential,
      c.dependsOn == [{ containerName = "jvb", condition = "START" }],
      c.stopTimeout == 600,
      c.stopTimeout > 120,
      contains(c.environment, { name = "CONFWATCH_STATS_URL", value = "http://127.0.0.1:8080/colibri/stats" }),
      contains(c.environment, { name = "CONFWATCH_SHUTDOWN_URL", value = "http://127.0.0.1:8080/colibri/shutdown" }),
    ] if c.name == "confwatch"]))
    error_message = "confwatch: not essential, depends on jvb (so it stops first), a long stop timeout, reads stats and requests the graceful shutdown on loopback"
  }
  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.jvb.container_definitions)[0].environment, { name = "SHUTDOWN_REST_ENABLED", value = "true" })
    error_message = "JVB's graceful-shutdown REST endpoint must be on"
  }
  assert {
    condition     = aws_ecs_task_definition.jvb.task_role_arn == aws_iam_role.jvb_task.arn
    error_message = "the JVB task has its own role (the agent sets task protection with it)"
  }
  assert {
    condition     = toset(flatten([for s in jsondecode(aws_iam_role_policy.jvb_task.policy).Statement : s.Action])) == toset(["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"])
    error_message = "the JVB task role may only set its task protection"
  }
  assert {
    condition     = alltrue([aws_ecs_service.jibri[0].deployment_minimum_healthy_percent == 100, aws_ecs_service.jibri[0].deployment_maximum_percent == 200])
    error_message = "Jibri deploys new recorders before old ones stop (busy ones stay protected by recwatch)"
  }
}

# 6. Recordings outlive their host: on EFS (encrypted, TLS only, one uid-1000 access point,
# IAM-authorized), mounted in every Jibri task (ECS Developer Guide, "Amazon EFS volumes"; EFS
# User Guide, "Enforcing a root directory with an access point", "Encrypting data in transit").
run "recordings_survive_their_host" {
  command = plan

  assert {
    condition     = alltrue([aws_efs_file_system.recordings[0].encrypted, aws_efs_file_system.recordings[0].kms_key_id == aws_kms_key.main.arn])
    error_message = "the recordings file system is encrypted with the stack's key"
  }
  assert {
    condition = alltrue([
      aws_efs_access_point.recordings[0].posix_user[0].uid == 1000,
      aws_efs_access_point.recordings[0].posix_user[0].gid == 1000,
      aws_efs_access_point.recordings[0].root_directory[0].path == "/recordings",
      aws_efs_access_point.recordings[0].root_directory[0].creation_info[0].owner_uid == 1000,
    ])
    error_message = "an access point for uid/gid 1000 rooted at /recordings"
  }
  assert {
    condition = alltrue([for v in aws_ecs_task_definition.jibri[0].volume : alltrue([
      one(v.efs_volume_configuration).file_system_id == aws_efs_file_system.recordings[0].id,
      one(v.efs_volume_configuration).transit_encryption == "ENABLED",
      one(one(v.efs_volume_configuration).authorization_config).access_point_id == aws_efs_access_point.recordings[0].id,
      one(one(v.efs_volume_configuration).authorization_config).iam == "ENABLED",
    ]) if v.name == "recordings"])
    error_message = "the recordings volume is the EFS access point, over TLS, IAM-authorized"
  }
  assert {
    condition     = length([for v in aws_ecs_task_definition.jibri[0].volume : v if v.name == "recordings"]) == 1
    error_message = "the Jibri task has the recordings volume"
  }
  assert {
    condition     = length(aws_efs_mount_target.recordings) == 2
    error_message = "a mount target in each private subnet (AZ)"
  }
  assert {
    condition = anytrue([for s in jsondecode(aws_efs_file_system_policy.recordings[0].policy).Statement :
    alltrue([s.Effect == "Deny", try(s.Condition.Bool["aws:SecureTransport"], "") == "false"])])
    error_message = "the file system policy denies every request without TLS"
  }
  assert {
    condition = alltrue([
      aws_security_group_rule.internal_ingress["jibri_nfs"].from_port == 2049,
      aws_security_group_rule.internal_ingress["jibri_nfs"].security_group_id == aws_security_group.efs[0].id,
      aws_security_group_rule.internal_ingress["jibri_nfs"].source_security_group_id == aws_security_group.jibri.id,
    ])
    error_message = "NFS (2049) to the file system only from the Jibri tasks"
  }
  assert {
    condition = alltrue([for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) :
    contains(c.environment, { name = "JIBRI_UPLOAD_PROTECT_SCOPE", value = "own" }) if c.name == "recwatch"])
    error_message = "with a shared EFS, recwatch must protect its task only for its own work"
  }
}

# 7. A crashed sidecar restarts in place (ECS Developer Guide, "Restart individual containers in
# Amazon ECS tasks with container restart policies").
run "sidecars_restart" {
  command = plan

  assert {
    condition = alltrue(flatten([for td in [aws_ecs_task_definition.jibri[0], aws_ecs_task_definition.jvb] : [
    for c in jsondecode(td.container_definitions) : try(c.restartPolicy.enabled, false) if contains(["recwatch", "confwatch"], c.name)]]))
    error_message = "recwatch and confwatch have the ECS container restart policy enabled"
  }
  assert {
    condition = length(flatten([for td in [aws_ecs_task_definition.jibri[0], aws_ecs_task_definition.jvb] : [
    for c in jsondecode(td.container_definitions) : c.name if contains(["recwatch", "confwatch"], c.name)]])) == 2
    error_message = "both sidecars are present"
  }
}

# 8. TURN: prosody advertises TURN/TURNS servers with credentials derived from a shared secret
# (XEP-0215 external services; docker-jitsi-meet prosody TURN_* variables); the secret comes from
# Secrets Manager (ECS Developer Guide, "Pass Secrets Manager secrets through environment variables").
run "turn_with_credentials" {
  command = apply
  variables {
    turn_host        = "turn.example.com"
    turns_host       = "turn.example.com"
    turn_credentials = "a-shared-secret"
  }

  assert {
    condition = alltrue([for e in ["TURN_HOST=turn.example.com", "TURNS_HOST=turn.example.com", "TURN_PORT=3478", "TURNS_PORT=443", "TURN_TRANSPORT=udp,tcp"] :
    contains([for e in jsondecode(aws_ecs_task_definition.core.container_definitions)[0].environment : "${e.name}=${e.value}"], e)])
    error_message = "prosody gets the TURN and TURNS hosts, ports and transport"
  }
  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.core.container_definitions)[0].secrets, { name = "TURN_CREDENTIALS", valueFrom = "${aws_secretsmanager_secret.operator[0].arn}:TURN_CREDENTIALS::" })
    error_message = "prosody gets TURN_CREDENTIALS from Secrets Manager"
  }
  assert {
    condition     = contains(flatten([for s in jsondecode(aws_iam_role_policy.execution["core"].policy).Statement : s.Resource if contains(s.Action, "secretsmanager:GetSecretValue")]), aws_secretsmanager_secret.operator[0].arn)
    error_message = "the core execution role reads the operator secret"
  }
  assert {
    condition = alltrue([for f in ["jvb", "jibri"] :
    !contains(flatten([for s in jsondecode(aws_iam_role_policy.execution[f].policy).Statement : s.Resource]), aws_secretsmanager_secret.operator[0].arn)])
    error_message = "only the core execution role reads the operator secret"
  }
}

run "turn_without_credentials_rejected" {
  command = plan
  variables {
    turn_host = "turn.example.com"
  }
  expect_failures = [aws_ecs_task_definition.core]
}

# 9. Our images are published by nobody: required, and validated as a pinned registry reference.
run "unpinned_image_rejected" {
  command = plan
  variables {
    jibri_image = "jibri-s3:latest"
  }
  expect_failures = [var.jibri_image]
}

run "latest_tag_rejected" {
  command = plan
  variables {
    confwatch_image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/confwatch:latest"
  }
  expect_failures = [var.confwatch_image]
}

# Security: tasks cannot use the instance role. IMDSv2 with a hop limit of 1 stops containers
# behind a bridge; ECS_AWSVPC_BLOCK_IMDS stops awsvpc tasks; host-network containers are dropped by
# owner before they reach IMDS (ECS Developer Guide, "Amazon EC2 container instance IAM role" /
# "Task IAM role": restrict access to the instance metadata; EC2 User Guide, "Instance metadata
# options").
run "tasks_cannot_reach_imds" {
  command = plan

  assert {
    condition     = alltrue([for lt in aws_launch_template.host : lt.metadata_options[0].http_put_response_hop_limit == 1])
    error_message = "IMDS hop limit 1"
  }
  assert {
    condition = alltrue(flatten([for lt in aws_launch_template.host : [
      strcontains(base64decode(lt.user_data), "ECS_AWSVPC_BLOCK_IMDS=true"),
      strcontains(base64decode(lt.user_data), "iptables -w -I OUTPUT 1 -d 169.254.169.254/32 -m owner ! --uid-owner 0 -j DROP"),
      strcontains(base64decode(lt.user_data), "systemctl enable --now block-imds-for-containers.service"),
      # Fail closed: the agent does not start without the block.
      strcontains(base64decode(lt.user_data), "Requires=block-imds-for-containers.service"),
    ]]))
    error_message = "every host blocks IMDS for awsvpc tasks and for non-root host-network processes"
  }
}

# Security: JVB's private HTTP server (Colibri REST, stats, shutdown) on loopback only.
# docker-jitsi-meet's jvb.conf binds it to 0.0.0.0 and includes /config/custom-jvb.conf last.
run "colibri_rest_on_loopback" {
  command = plan

  assert {
    condition     = strcontains(base64decode(aws_launch_template.host["media"].user_data), "videobridge.http-servers.private.host = \"127.0.0.1\"")
    error_message = "the media hosts write custom-jvb.conf binding the private HTTP server to 127.0.0.1"
  }
  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.jvb.container_definitions)[0].mountPoints, { sourceVolume = "jvb-config", containerPath = "/config", readOnly = true })
    error_message = "JVB reads /config (with custom-jvb.conf) from the host, read-only"
  }
  assert {
    condition     = [for v in aws_ecs_task_definition.jvb.volume : v.host_path if v.name == "jvb-config"] == ["/etc/jitsi-jvb"]
    error_message = "the jvb-config volume is the directory the user data writes"
  }
  assert {
    condition = !anytrue(concat(
      [for r in aws_security_group_rule.public_ingress : alltrue([r.from_port <= 8080, r.to_port >= 8080])],
      [for r in aws_security_group_rule.internal_ingress : alltrue([r.from_port <= 8080, r.to_port >= 8080])],
    ))
    error_message = "no security group opens 8080"
  }
}

# Security: authentication. docker-jitsi-meet: ENABLE_AUTH with AUTH_TYPE=jwt on web, prosody and
# jicofo; without it anyone may create rooms and start recordings (README says so).
run "anonymous_by_default" {
  command = plan

  assert {
    condition = alltrue([for c in jsondecode(aws_ecs_task_definition.core.container_definitions) :
    contains(c.environment, { name = "ENABLE_AUTH", value = "0" })])
    error_message = "the default is anonymous (documented)"
  }
}

run "jwt_authentication" {
  command = apply
  variables {
    auth_type      = "jwt"
    jwt_app_id     = "meet"
    jwt_app_secret = "a-signing-secret"
  }

  assert {
    condition = alltrue(flatten([for c in jsondecode(aws_ecs_task_definition.core.container_definitions) : [
      contains(c.environment, { name = "ENABLE_AUTH", value = "1" }),
      contains(c.environment, { name = "AUTH_TYPE", value = "jwt" }),
      contains(c.environment, { name = "JWT_APP_ID", value = "meet" }),
    ]]))
    error_message = "web, prosody and jicofo agree on JWT authentication"
  }
  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.core.container_definitions)[0].secrets, { name = "JWT_APP_SECRET", valueFrom = "${aws_secretsmanager_secret.operator[0].arn}:JWT_APP_SECRET::" })
    error_message = "prosody gets JWT_APP_SECRET from Secrets Manager"
  }
}

run "jwt_without_secret_rejected" {
  command = plan
  variables {
    auth_type  = "jwt"
    jwt_app_id = "meet"
  }
  expect_failures = [aws_ecs_task_definition.core]
}

# Security: one execution role per task family, each reading only the secrets its containers get
# (ECS Developer Guide, "Amazon ECS task execution IAM role"; Secrets Manager has no per-JSON-key
# permission, so the key split is each task definition's `secrets`).
run "execution_role_per_family" {
  command = plan

  assert {
    condition = alltrue([
      aws_ecs_task_definition.core.execution_role_arn == "arn:aws:iam::123456789012:role/${aws_iam_role.execution["core"].name}",
      aws_ecs_task_definition.jvb.execution_role_arn == "arn:aws:iam::123456789012:role/${aws_iam_role.execution["jvb"].name}",
      aws_ecs_task_definition.jibri[0].execution_role_arn == "arn:aws:iam::123456789012:role/${aws_iam_role.execution["jibri"].name}",
    ])
    error_message = "each task family uses its own execution role"
  }
  assert {
    condition     = length(toset([aws_iam_role.execution["core"].name, aws_iam_role.execution["jvb"].name, aws_iam_role.execution["jibri"].name])) == 3
    error_message = "three distinct execution roles"
  }
  assert {
    condition = alltrue([
      toset([for s in jsondecode(aws_ecs_task_definition.jvb.container_definitions)[0].secrets : s.name]) == toset(["JVB_AUTH_PASSWORD"]),
      toset(flatten([for c in jsondecode(aws_ecs_task_definition.jibri[0].container_definitions) : [for s in try(c.secrets, []) : s.name]])) == toset(["JIBRI_XMPP_PASSWORD", "JIBRI_RECORDER_PASSWORD"]),
      toset([for s in jsondecode(aws_ecs_task_definition.core.container_definitions)[1].secrets : s.name]) == toset(["JICOFO_AUTH_PASSWORD"]),
    ])
    error_message = "each container receives only its own keys"
  }
  assert {
    condition     = alltrue([for f, p in aws_iam_role_policy.execution : p.role == aws_iam_role.execution[f].id])
    error_message = "each family's policy is attached to its role"
  }
}

# The guide's operational commands work as written (README "Operations").
run "guide_names" {
  command = plan

  assert {
    condition = alltrue([
      aws_ecs_cluster.main.name == "jitsi-video-platform-cluster",
      aws_ecs_service.core.name == "jitsi-video-platform-service",
      aws_cloudwatch_log_group.ecs.name == "/ecs/jitsi-video-platform",
      aws_secretsmanager_secret.jitsi.name == "jitsi-video-platform-jitsi-secrets",
    ])
    error_message = "cluster, service, log group and secret must carry the guide's names"
  }
  assert {
    condition     = output.service_names == { core = "jitsi-video-platform-service", jvb = "jitsi-video-platform-jvb", jibri = "jitsi-video-platform-jibri" }
    error_message = "the real service names are outputs"
  }
  assert {
    condition     = anytrue([for s in jsondecode(aws_kms_key.main.policy).Statement : contains(try(s.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"], []), "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/jitsi-video-platform")])
    error_message = "CloudWatch Logs may use the key for the renamed log group"
  }
}

# Rotation every 90 days by our Lambda (Secrets Manager User Guide, "Rotation by Lambda function":
# the function's resource policy lets secretsmanager.amazonaws.com invoke it for this secret; the
# execution role needs DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage,
# GetRandomPassword and the key).
run "secret_rotation" {
  command = plan

  assert {
    condition     = aws_secretsmanager_secret_rotation.jitsi.rotation_rules[0].automatically_after_days == 90
    error_message = "rotate quarterly (90 days)"
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.jitsi.rotation_lambda_arn == aws_lambda_function.rotation.arn
    error_message = "the secret rotates with our function"
  }
  assert {
    condition = alltrue([
      aws_lambda_function.rotation.runtime == "provided.al2023",
      one(aws_lambda_function.rotation.architectures) == "arm64",
      aws_lambda_function.rotation.handler == "bootstrap",
    ])
    error_message = "the Go function: provided.al2023, arm64, bootstrap"
  }
  assert {
    condition = alltrue([
      aws_lambda_function.rotation.environment[0].variables.ECS_CLUSTER == "jitsi-video-platform-cluster",
      aws_lambda_function.rotation.environment[0].variables.ECS_SERVICES == "jitsi-video-platform-service,jitsi-video-platform-jvb,jitsi-video-platform-jibri",
    ])
    error_message = "the function rolls core first, then jvb, then jibri"
  }
  assert {
    condition     = aws_lambda_function.rotation.environment[0].variables.SECRET_KEYS == "JICOFO_AUTH_PASSWORD,JICOFO_COMPONENT_SECRET,JVB_AUTH_PASSWORD,JIBRI_XMPP_PASSWORD,JIBRI_RECORDER_PASSWORD,JIGASI_XMPP_PASSWORD,JIGASI_TRANSCRIBER_PASSWORD"
    error_message = "the function regenerates every key of local.secret_keys"
  }
  assert {
    # Lambda's maximum (Lambda Developer Guide, "Configure Lambda function timeout"): it waits for
    # each service to be stable before the next.
    condition     = aws_lambda_function.rotation.timeout == 900
    error_message = "the rotation needs minutes: timeout 900 s"
  }
  assert {
    condition = alltrue([
      aws_lambda_permission.rotation.principal == "secretsmanager.amazonaws.com",
      aws_lambda_permission.rotation.source_arn == aws_secretsmanager_secret.jitsi.arn,
      aws_lambda_permission.rotation.action == "lambda:InvokeFunction",
    ])
    error_message = "only Secrets Manager may invoke the function, for this secret"
  }
  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.rotation.policy).Statement : s.Action])) == toset([
      "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
      "secretsmanager:GetRandomPassword", "kms:Decrypt", "kms:GenerateDataKey", "ecs:UpdateService", "ecs:DescribeServices",
      "logs:CreateLogStream", "logs:PutLogEvents",
    ])
    error_message = "the rotation role has exactly the rotation permissions"
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.rotation.policy).Statement : alltrue([for r in s.Resource : contains([
      aws_secretsmanager_secret.jitsi.arn, aws_kms_key.main.arn, "*", "${aws_cloudwatch_log_group.rotation.arn}:log-stream:*",
      "arn:aws:ecs:eu-west-1:123456789012:service/jitsi-video-platform-cluster/jitsi-video-platform-service",
      "arn:aws:ecs:eu-west-1:123456789012:service/jitsi-video-platform-cluster/jitsi-video-platform-jvb",
      "arn:aws:ecs:eu-west-1:123456789012:service/jitsi-video-platform-cluster/jitsi-video-platform-jibri",
    ], r)])])
    error_message = "the rotation role touches only the one secret, its key, its log group and the three services"
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.rotation.policy).Statement : s.Action if contains(s.Resource, "*")] == [["secretsmanager:GetRandomPassword"]]
    error_message = "the only wildcard resource is GetRandomPassword's (no resource-level permission)"
  }
}

# The package is read only when it exists: this suite runs without dist/rotate-secret.zip (the
# default path), and with a package the function's code hash follows it, so a new build deploys.
run "rotation_package_hash" {
  command = apply
  variables {
    rotation_lambda_zip = "tests/testdata/rotate-secret.zip"
  }
  assert {
    condition     = aws_lambda_function.rotation.source_code_hash == filebase64sha256("tests/testdata/rotate-secret.zip")
    error_message = "source_code_hash must be the package's SHA-256"
  }
  assert {
    condition     = aws_lambda_function.rotation.filename == "tests/testdata/rotate-secret.zip"
    error_message = "rotation_lambda_zip chooses the package"
  }
}

# A configurable prosody log level.
run "prosody_log_level" {
  command = apply
  variables {
    prosody_log_level = "debug"
  }
  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.core.container_definitions)[0].environment, { name = "LOG_LEVEL", value = "debug" })
    error_message = "prosody_log_level reaches prosody's LOG_LEVEL"
  }
}

run "prosody_log_level_validated" {
  command = plan
  variables {
    prosody_log_level = "chatty"
  }
  expect_failures = [var.prosody_log_level]
}

# Participant and conference gauges (current values) in Jitsi/JVB: confwatch publishes them as EMF
# (CloudWatch User Guide, "Embedded metric format") from each bridge's /colibri/stats.
run "jvb_gauges" {
  command = plan

  assert {
    condition = alltrue([for c in jsondecode(aws_ecs_task_definition.jvb.container_definitions) : alltrue([
      contains(c.environment, { name = "CONFWATCH_NAMESPACE", value = "Jitsi/JVB" }),
      contains(c.environment, { name = "CONFWATCH_ENVIRONMENT", value = "prod" }),
    ]) if c.name == "confwatch"])
    error_message = "confwatch publishes into Jitsi/JVB with the Environment dimension"
  }
  assert {
    condition = alltrue([for g in ["Conferences", "Participants"] : anytrue([for w in jsondecode(aws_cloudwatch_dashboard.main.dashboard_body).widgets :
    anytrue([for m in try(w.properties.metrics, []) : alltrue([try(m[0] == "Jitsi/JVB", false), try(m[1] == g, false)])])])])
    error_message = "the dashboard shows the Conferences and Participants gauges"
  }
}

# Also: IPv4-only web, the flow-log role's DescribeLogGroups, force_delete, the S3 gateway endpoint,
# instance refresh for new AMIs.
run "also" {
  command = plan

  assert {
    condition     = contains([for c in jsondecode(aws_ecs_task_definition.core.container_definitions) : c if c.name == "web"][0].environment, { name = "ENABLE_IPV6", value = "0" })
    error_message = "web must not bind [::] in an IPv4 VPC"
  }
  assert {
    # VPC User Guide, "IAM role for publishing flow logs to CloudWatch Logs".
    condition     = contains(flatten([for s in jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement : s.Action]), "logs:DescribeLogGroups")
    error_message = "the flow-log role needs logs:DescribeLogGroups"
  }
  assert {
    condition     = alltrue([for g in aws_autoscaling_group.host : g.force_delete])
    error_message = "destroy must not hang on protected instances"
  }
  assert {
    # VPC User Guide, "Gateway endpoints for Amazon S3": routes S3 traffic off the NAT gateway.
    condition = alltrue([
      aws_vpc_endpoint.s3[0].vpc_endpoint_type == "Gateway",
      aws_vpc_endpoint.s3[0].service_name == "com.amazonaws.eu-west-1.s3",
      aws_vpc_endpoint.s3[0].route_table_ids == toset([aws_route_table.private[0].id]),
    ])
    error_message = "an S3 gateway endpoint on the private route table"
  }
  assert {
    # EC2 Auto Scaling User Guide, "Use an instance refresh to update instances": protected
    # instances are replaced only with ScaleInProtectedInstances = Refresh.
    condition = alltrue(flatten([for k, g in aws_autoscaling_group.host : [
      g.instance_refresh[0].strategy == "Rolling",
      g.instance_refresh[0].preferences[0].min_healthy_percentage == 100,
      g.instance_refresh[0].preferences[0].scale_in_protected_instances == "Refresh",
      g.launch_template[0].version == tostring(aws_launch_template.host[k].latest_version),
    ]]))
    error_message = "instance refresh on new launch template versions (AMI updates), replacing protected instances, launch before terminate"
  }
}
