# JVB: target tracking on CPU (a bridge's load is CPU), never below jvb_min_count (>= 1): with no
# bridge no meeting starts, and target tracking has no metric to scale out of zero.
# Jibri: step scaling on idle recorders. recwatch publishes IdleRecorders (1 when its Jibri is IDLE
# and healthy) and Recorders (1) once a minute; the number of idle recorders is
# IdleRecorders/Recorders (the fraction idle, robust to a minute holding 0 or 2 samples of a task)
# times the running task count. Fewer than jibri_min_idle idle recorders, or no data at all (zero
# tasks), adds a task; more than jibri_min_idle for 10 minutes removes one. ECS never stops a
# Jibri that is recording or uploading: recwatch holds its task's scale-in protection then.

locals {
  scaled_services = merge(
    { jvb = { name = aws_ecs_service.jvb.name, min = var.jvb_min_count } },
    var.enable_recording ? { jibri = { name = aws_ecs_service.jibri[0].name, min = var.jibri_min_idle } } : {},
  )

  # Metric math shared by both Jibri alarms (and the dashboard).
  idle_recorders_expression = "IF(rec > 0, idle / rec * tasks, 0)"
  jibri_idle_queries = {
    idle = { namespace = "Jitsi/Recordings", metric = "IdleRecorders", stat = "Sum", dims = { Environment = var.environment } }
    rec  = { namespace = "Jitsi/Recordings", metric = "Recorders", stat = "Sum", dims = { Environment = var.environment } }
    tasks = { namespace = "ECS/ContainerInsights", metric = "RunningTaskCount", stat = "Average",
    dims = { ClusterName = local.cluster_name, ServiceName = local.names.jibri_service } }
  }

  jibri_steps = !var.enable_recording ? {} : {
    out = {
      adjustment = 1
      # Scale out as soon as one minute shows too few idle recorders, or shows nothing.
      comparison = "LessThanThreshold"
      periods    = 1
      # With jibri_min_idle = 0 nobody asks for an idle recorder, so "no data" is no reason either.
      missing_data = var.jibri_min_idle > 0 ? "breaching" : "notBreaching"
      description  = "fewer than ${var.jibri_min_idle} idle Jibri recorders (or no Jibri reporting): start one more"
    }
    in = {
      adjustment   = -1
      comparison   = "GreaterThanThreshold"
      periods      = 10
      missing_data = "notBreaching"
      description  = "more than ${var.jibri_min_idle} idle Jibri recorders for 10 minutes: stop one idle task"
    }
  }
}

resource "aws_appautoscaling_target" "service" {
  for_each           = local.scaled_services
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${each.value.name}"
  min_capacity       = each.value.min
  max_capacity       = max(var.autoscaling_max, each.value.min)
}

resource "aws_appautoscaling_policy" "jvb_cpu" {
  name               = "${local.prefix}-jvb-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service["jvb"].service_namespace
  scalable_dimension = aws_appautoscaling_target.service["jvb"].scalable_dimension
  resource_id        = aws_appautoscaling_target.service["jvb"].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_target
    scale_in_cooldown  = var.autoscaling_cooldown
    scale_out_cooldown = var.autoscaling_cooldown

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "jibri" {
  for_each           = local.jibri_steps
  name               = "${local.prefix}-jibri-idle-${each.key}"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.service["jibri"].service_namespace
  scalable_dimension = aws_appautoscaling_target.service["jibri"].scalable_dimension
  resource_id        = aws_appautoscaling_target.service["jibri"].resource_id

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = each.key == "out" ? 60 : var.autoscaling_cooldown
    metric_aggregation_type = "Average"

    step_adjustment {
      scaling_adjustment = each.value.adjustment
      # Step bounds are relative to the alarm threshold: below it for scale-out, above for scale-in.
      metric_interval_upper_bound = each.key == "out" ? 0 : null
      metric_interval_lower_bound = each.key == "in" ? 0 : null
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "jibri_idle" {
  for_each            = local.jibri_steps
  alarm_name          = "${local.prefix}-jibri-idle-${each.key}"
  alarm_description   = each.value.description
  comparison_operator = each.value.comparison
  threshold           = var.jibri_min_idle
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  treat_missing_data  = each.value.missing_data
  alarm_actions       = [aws_appautoscaling_policy.jibri[each.key].arn]

  metric_query {
    id          = "idle_recorders"
    expression  = local.idle_recorders_expression
    label       = "Idle Jibri recorders"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.jibri_idle_queries
    content {
      id = metric_query.key
      metric {
        namespace   = metric_query.value.namespace
        metric_name = metric_query.value.metric
        dimensions  = metric_query.value.dims
        period      = 60
        stat        = metric_query.value.stat
      }
    }
  }
}
