output "url" {
  description = "Meeting URL (point the domain's DNS at load_balancer_dns_name)."
  value       = local.public_url
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer, for the domain's CNAME/alias record."
  value       = aws_lb.main.dns_name
}

output "recording_bucket" {
  description = "Name of the recording bucket (null when not created)."
  value       = local.create_bucket ? aws_s3_bucket.recordings[0].bucket : null
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret holding the XMPP passwords (the ARN is not secret; the value is never output)."
  value       = aws_secretsmanager_secret.jitsi.arn
}

output "log_group" {
  description = "CloudWatch log group of every container (/ecs/<name>)."
  value       = aws_cloudwatch_log_group.ecs.name
}

output "dashboard_url" {
  description = "CloudWatch dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.main.dashboard_name}"
}

output "cluster_name" {
  description = "ECS cluster."
  value       = aws_ecs_cluster.main.name
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = aws_sns_topic.alarms.arn
}

output "recording_ready_topic_arn" {
  description = "SNS topic that receives a message for each recording's manifest.json (null when enable_recording_ready is false or there is no stack bucket)."
  value       = local.recording_ready ? aws_sns_topic.recording_ready[0].arn : null
}

output "kms_key_arn" {
  description = "The stack's customer managed KMS key."
  value       = aws_kms_key.main.arn
}

output "service_names" {
  description = "ECS services: core (web+prosody+jicofo, the guide's <name>-service), jvb, jibri (null without recording)."
  value = {
    core  = aws_ecs_service.core.name
    jvb   = aws_ecs_service.jvb.name
    jibri = var.enable_recording ? aws_ecs_service.jibri[0].name : null
  }
}

output "secret_name" {
  description = "Name of the Jitsi secret (for aws secretsmanager rotate-secret --secret-id)."
  value       = aws_secretsmanager_secret.jitsi.name
}

output "rotation_function_name" {
  description = "The secret rotation Lambda."
  value       = aws_lambda_function.rotation.function_name
}

output "recordings_file_system_id" {
  description = "EFS file system holding recordings not yet uploaded (null without recording)."
  value       = var.enable_recording ? aws_efs_file_system.recordings[0].id : null
}

output "task_placement" {
  description = "Each task's CPU/memory against what the ECS agent registers on its capacity provider's instance type."
  value       = local.task_placement
}
