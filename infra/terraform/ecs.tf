# ECS on EC2 (Jibri needs /dev/shm >= 2 GiB, which Fargate cannot give). Two capacity providers,
# each an Auto Scaling group with managed scaling, so the hosts follow the tasks down to zero:
#   core:  private subnets; the web+prosody+jicofo task and the Jibri tasks (awsvpc).
#   media: public subnets, a public address per host; one JVB per host in host network mode.

locals {
  cluster_name = local.prefix
  capacity = {
    core = {
      instance_type = var.core_instance_type
      subnets       = local.private_subnet_ids
      public_ip     = false
      max_size      = var.core_max_instances
      sg            = aws_security_group.core_host.id
    }
    media = {
      instance_type = var.media_instance_type
      subnets       = local.public_subnet_ids
      public_ip     = true
      max_size      = var.media_max_instances
      sg            = aws_security_group.jvb.id
    }
  }
}

resource "aws_ecs_cluster" "main" {
  name = local.cluster_name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

data "aws_ssm_parameter" "ecs_ami" {
  name = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
}

resource "aws_launch_template" "host" {
  for_each      = local.capacity
  name_prefix   = "${local.prefix}-${each.key}-"
  image_id      = data.aws_ssm_parameter.ecs_ami.value
  instance_type = each.value.instance_type

  iam_instance_profile {
    arn = aws_iam_instance_profile.instance.arn
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = 60
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = aws_kms_key.main.arn
      delete_on_termination = true
    }
  }

  network_interfaces {
    # JVB hosts need a public address: browsers send media to it on UDP 10000 (the only
    # port their security group opens); the core hosts get none.
    associate_public_ip_address = each.value.public_ip
    security_groups             = [each.value.sg]
    delete_on_termination       = true
  }

  user_data = base64encode(<<-EOT
    #!/bin/bash
    cat >>/etc/ecs/ecs.config <<'CFG'
    ECS_CLUSTER=${local.cluster_name}
    ECS_ENABLE_TASK_IAM_ROLE=true
    ECS_ENABLE_CONTAINER_METADATA=true
    ECS_CONTAINER_STOP_TIMEOUT=120s
    ECS_INSTANCE_ATTRIBUTES={"tier":"${each.key}"}
    CFG
  EOT
  )

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = "${local.prefix}-${each.key}" })
  }
}

resource "aws_autoscaling_group" "host" {
  for_each            = local.capacity
  name_prefix         = "${local.prefix}-${each.key}-"
  vpc_zone_identifier = each.value.subnets
  min_size            = 0
  max_size            = each.value.max_size
  # Managed scaling sets the desired capacity; managed termination protection needs this.
  protect_from_scale_in = true

  launch_template {
    id      = aws_launch_template.host[each.key].id
    version = "$Latest"
  }

  tag {
    key                 = "AmazonECSManaged"
    value               = "true"
    propagate_at_launch = true
  }

  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

resource "aws_ecs_capacity_provider" "host" {
  for_each = local.capacity
  name     = "${local.prefix}-${each.key}"

  auto_scaling_group_provider {
    auto_scaling_group_arn         = aws_autoscaling_group.host[each.key].arn
    managed_termination_protection = "ENABLED"
    managed_draining               = "ENABLED"

    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = 100
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = 2
      instance_warmup_period    = 120
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = [for cp in aws_ecs_capacity_provider.host : cp.name]

  default_capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.host["core"].name
    weight            = 1
  }
}
