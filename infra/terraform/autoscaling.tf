# Target tracking on CPU and memory for the services that scale out (JVB, Jibri); the core task
# is always exactly one. Scale-in never kills a recording that is not uploaded: recwatch holds ECS
# task scale-in protection while its recordings directory has work, and the capacity providers'
# managed termination protection keeps the hosts of protected tasks.

locals {
  scaled_services = merge(
    { jvb = aws_ecs_service.jvb.name },
    var.enable_recording ? { jibri = aws_ecs_service.jibri[0].name } : {},
  )
  scaling_policies = merge([for svc, name in local.scaled_services : {
    "${svc}-cpu"    = { svc = svc, metric = "ECSServiceAverageCPUUtilization" }
    "${svc}-memory" = { svc = svc, metric = "ECSServiceAverageMemoryUtilization" }
  }]...)
}

resource "aws_appautoscaling_target" "service" {
  for_each           = local.scaled_services
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${each.value}"
  min_capacity       = var.autoscaling_min
  max_capacity       = var.autoscaling_max
}

resource "aws_appautoscaling_policy" "service" {
  for_each           = local.scaling_policies
  name               = "${local.prefix}-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service[each.value.svc].service_namespace
  scalable_dimension = aws_appautoscaling_target.service[each.value.svc].scalable_dimension
  resource_id        = aws_appautoscaling_target.service[each.value.svc].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_target
    scale_in_cooldown  = var.autoscaling_cooldown
    scale_out_cooldown = var.autoscaling_cooldown

    predefined_metric_specification {
      predefined_metric_type = each.value.metric
    }
  }
}
