# Logs (30 days, KMS), alarms to SNS, the recording success rate from the uploader's own EMF
# metrics (Jitsi/Recordings), and a dashboard. Conferences and Participants are gauges (current
# values) that confwatch reads from each bridge's /colibri/stats and publishes as EMF in Jitsi/JVB
# once a minute, dimension Environment; summed over the bridges they are the platform's totals.

resource "aws_cloudwatch_log_group" "ecs" {
  name              = local.names.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.prefix}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  jvb_gauges = ["Conferences", "Participants"]
  # Services whose CPU and memory are alarmed on.
  alarmed_services = merge(
    { core = aws_ecs_service.core.name, jvb = aws_ecs_service.jvb.name },
    var.enable_recording ? { jibri = aws_ecs_service.jibri[0].name } : {},
  )
  utilization_alarms = merge([for svc, name in local.alarmed_services : {
    "${svc}-cpu"    = { service = name, metric = "CPUUtilization" }
    "${svc}-memory" = { service = name, metric = "MemoryUtilization" }
  }]...)
}

resource "aws_cloudwatch_metric_alarm" "utilization" {
  for_each            = local.utilization_alarms
  alarm_name          = "${local.prefix}-${each.key}-high"
  alarm_description   = "${each.value.metric} of ECS service ${each.value.service} above 80%"
  namespace           = "AWS/ECS"
  metric_name         = each.value.metric
  dimensions          = { ClusterName = aws_ecs_cluster.main.name, ServiceName = each.value.service }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 80
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# Uploaded / (uploaded + failed) over an hour, from the uploader's EMF metrics. No recordings in
# the hour means no data, which is not a failure.
resource "aws_cloudwatch_metric_alarm" "recording_success" {
  count               = var.enable_recording ? 1 : 0
  alarm_name          = "${local.prefix}-recording-success-rate"
  alarm_description   = "Fewer than ${var.recording_success_threshold}% of recordings uploaded in the last hour"
  comparison_operator = "LessThanThreshold"
  threshold           = var.recording_success_threshold
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "rate"
    expression  = "IF((ok + failed) > 0, 100 * ok / (ok + failed))"
    label       = "Recording success rate (%)"
    return_data = true
  }

  metric_query {
    id = "ok"
    metric {
      namespace   = "Jitsi/Recordings"
      metric_name = "RecordingsUploaded"
      dimensions  = { Environment = var.environment }
      period      = 3600
      stat        = "Sum"
    }
  }

  metric_query {
    id = "failed"
    metric {
      namespace   = "Jitsi/Recordings"
      metric_name = "RecordingsFailed"
      dimensions  = { Environment = var.environment }
      period      = 3600
      stat        = "Sum"
    }
  }
}

# Any recording in the last 5 minutes whose MP4 no player can open: the uploader stored and verified
# it (its bytes are safe in S3) but found no moov index, which happens when ffmpeg was killed
# before it finished the file. Each finalized recording emits Unplayable (EMF, Count, 0 normally)
# with the namespace and Environment value the Jibri task's containers are configured with
# (services.tf). No ok_actions: the next quiet 5 minutes would send an "OK" that repairs nothing.
# While the alarm stays in ALARM, a further unplayable recording sends no second message.
resource "aws_cloudwatch_metric_alarm" "unplayable" {
  count               = var.enable_recording ? 1 : 0
  alarm_name          = "${local.prefix}-recording-unplayable"
  alarm_description   = "A recording was uploaded but its MP4 has no moov index (ffmpeg stopped before finishing the file): no player opens it. The bytes are stored and verified in S3; the manifest's media block says playable=false with the reason. Repair from S3 as docs/media.md describes (\"Repairing an unplayable recording\"); never overwrite the original object."
  namespace           = "Jitsi/Recordings"
  metric_name         = "Unplayable"
  dimensions          = { Environment = var.environment }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

locals {
  ecs_dims = { for svc, name in local.alarmed_services : svc => ["ClusterName", aws_ecs_cluster.main.name, "ServiceName", name] }

  dashboard = {
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "Service health: running tasks"
          region  = local.region
          stat    = "Average"
          period  = 60
          metrics = [for svc, d in local.ecs_dims : concat(["ECS/ContainerInsights", "RunningTaskCount"], d, [{ label = svc }])]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "Load balancer: healthy web targets and 5xx"
          region = local.region
          period = 60
          metrics = [
            ["AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", aws_lb_target_group.web.arn_suffix, "LoadBalancer", aws_lb.main.arn_suffix, { stat = "Minimum" }],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", aws_lb.main.arn_suffix, { stat = "Sum" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Conferences and participants now (all bridges)"
          region = local.region
          stat   = "Sum"
          period = 60
          metrics = concat(
            [for g in local.jvb_gauges : ["Jitsi/JVB", g, "Environment", var.environment, { label = lower(g) }]],
            [["Jitsi/Recordings", "IdleRecorders", "Environment", var.environment, { label = "idle recorders" }]],
          )
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Utilization (%)"
          region = local.region
          stat   = "Average"
          period = 300
          metrics = concat(
            [for svc, d in local.ecs_dims : concat(["AWS/ECS", "CPUUtilization"], slice(d, 0, 4), [{ label = "${svc} cpu" }])],
            [for svc, d in local.ecs_dims : concat(["AWS/ECS", "MemoryUtilization"], slice(d, 0, 4), [{ label = "${svc} memory" }])],
          )
          annotations = { horizontal = [{ value = 80, label = "alarm" }] }
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title  = "Recording activity"
          region = local.region
          stat   = "Sum"
          period = 300
          metrics = [
            ["Jitsi/Recordings", "RecordingsUploaded", "Environment", var.environment],
            ["Jitsi/Recordings", "RecordingsFailed", "Environment", var.environment],
            ["Jitsi/Recordings", "Unplayable", "Environment", var.environment],
            ["Jitsi/Recordings", "BytesUploaded", "Environment", var.environment, { yAxis = "right" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title  = "Recording success rate (%)"
          region = local.region
          period = 3600
          metrics = [
            [{ expression = "IF((ok + failed) > 0, 100 * ok / (ok + failed))", label = "success rate", id = "rate" }],
            ["Jitsi/Recordings", "RecordingsUploaded", "Environment", var.environment, { id = "ok", stat = "Sum", visible = false }],
            ["Jitsi/Recordings", "RecordingsFailed", "Environment", var.environment, { id = "failed", stat = "Sum", visible = false }],
          ]
          yAxis       = { left = { min = 0, max = 100 } }
          annotations = { horizontal = [{ value = var.recording_success_threshold, label = "alarm" }] }
        }
      },
    ]
  }
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = local.prefix
  dashboard_body = jsonencode(local.dashboard)
}
