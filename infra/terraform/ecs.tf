# ECS on EC2 (Jibri needs /dev/shm >= 2 GiB, which Fargate cannot give). Two capacity providers,
# each an Auto Scaling group with managed scaling, so the hosts follow the tasks:
#   core:  private subnets; the web+prosody+jicofo task and the Jibri tasks (awsvpc).
#   media: public subnets, a public address per host; one JVB per host in host network mode.

locals {
  cluster_name = local.names.cluster

  # JVB's private HTTP server (health, /colibri/stats, graceful shutdown) on loopback only: the
  # image binds it to 0.0.0.0 and includes /config/custom-jvb.conf last (HOCON: later wins). The
  # media hosts write this file and the JVB task mounts the directory read-only at /config.
  jvb_config_dir  = "/etc/jitsi-jvb"
  jvb_custom_conf = <<-EOT
    videobridge.http-servers.private.host = "127.0.0.1"
  EOT

  capacity = {
    core = {
      instance_type = var.core_instance_type
      subnets       = local.private_subnet_ids
      public_ip     = false
      max_size      = var.core_max_instances
      sg            = aws_security_group.core_host.id
      extra_files   = ""
    }
    media = {
      instance_type = var.media_instance_type
      subnets       = local.public_subnet_ids
      public_ip     = true
      max_size      = var.media_max_instances
      sg            = aws_security_group.jvb.id
      extra_files   = <<-EOT
        mkdir -p ${local.jvb_config_dir}
        cat >${local.jvb_config_dir}/custom-jvb.conf <<'CONF'
        ${trimspace(local.jvb_custom_conf)}
        CONF
        chmod 0644 ${local.jvb_config_dir}/custom-jvb.conf
      EOT
    }
  }

  # What the ECS agent registers on a host (the placement limit of its tasks): 1024 CPU units per
  # vCPU, and the kernel's MemTotal (below the installed memory) minus ECS_RESERVED_MEMORY.
  host_resources = { for k, c in local.capacity : k => {
    instance_type = c.instance_type
    known         = contains(keys(var.instance_types), c.instance_type)
    cpu           = try(var.instance_types[c.instance_type].vcpu * 1024, 0)
    memory        = try(floor(var.instance_types[c.instance_type].memory_mib * (100 - var.os_memory_overhead_percent) / 100) - var.ecs_reserved_memory, 0)
  } }

  # Every task and the capacity provider it is placed on.
  task_sizes = merge(
    {
      core = { provider = "core", cpu = 2048, memory = 4096 }
      jvb  = { provider = "media", cpu = var.task_cpu, memory = var.task_memory }
    },
    var.enable_recording ? { jibri = { provider = "core", cpu = var.task_cpu, memory = var.task_memory } } : {},
  )
  task_placement = { for t, s in local.task_sizes : t => merge(s, {
    instance_type    = local.host_resources[s.provider].instance_type
    available_cpu    = local.host_resources[s.provider].cpu
    available_memory = local.host_resources[s.provider].memory
    fits             = s.cpu <= local.host_resources[s.provider].cpu && s.memory <= local.host_resources[s.provider].memory
  }) }

  # Tasks may not use the instance's credentials. awsvpc tasks (core, Jibri): the agent blocks
  # IMDS (ECS_AWSVPC_BLOCK_IMDS) and a hop limit of 1 stops bridge-mode containers. Host-network
  # containers (JVB) share the host's network namespace, so on every host a systemd unit drops
  # IMDS traffic of every non-root process before the agent starts (the agent and ecs-init run
  # as root; our containers run as uid 1000).
  imds_block_unit = <<-EOT
    [Unit]
    Description=Block IMDS for non-root processes (host-network containers)
    Before=ecs.service docker.service
    After=network-pre.target
    [Service]
    Type=oneshot
    RemainAfterExit=yes
    ExecStart=/usr/sbin/iptables -w -I OUTPUT 1 -d 169.254.169.254/32 -m owner ! --uid-owner 0 -j DROP
    [Install]
    WantedBy=multi-user.target
  EOT

  # ecs.config first, so a failure below can never leave an agent registering elsewhere; the agent
  # then requires the IMDS block (fail closed: a host whose block fails never takes tasks).
  user_data = { for k, c in local.capacity : k => <<-EOT
    #!/bin/bash
    set -euo pipefail
    cat >>/etc/ecs/ecs.config <<'CFG'
    ECS_CLUSTER=${local.cluster_name}
    ECS_ENABLE_TASK_IAM_ROLE=true
    ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true
    ECS_AWSVPC_BLOCK_IMDS=true
    ECS_ENABLE_CONTAINER_METADATA=true
    ECS_RESERVED_MEMORY=${var.ecs_reserved_memory}
    ECS_CONTAINER_STOP_TIMEOUT=120s
    ECS_INSTANCE_ATTRIBUTES={"tier":"${k}"}
    CFG
    ${trimspace(c.extra_files)}
    cat >/etc/systemd/system/block-imds-for-containers.service <<'UNIT'
    ${trimspace(local.imds_block_unit)}
    UNIT
    mkdir -p /etc/systemd/system/ecs.service.d
    cat >/etc/systemd/system/ecs.service.d/10-block-imds.conf <<'UNIT'
    [Unit]
    Requires=block-imds-for-containers.service
    After=block-imds-for-containers.service
    UNIT
    systemctl daemon-reload
    systemctl enable --now block-imds-for-containers.service
  EOT
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
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size = 60
      volume_type = "gp3"
      encrypted   = true
      # No kms_key_id: the account's default EBS key (aws/ebs). A customer managed key would need
      # a key policy and a grant for the Auto Scaling service-linked role, without which every
      # launch fails while apply succeeds (see README "Host disks").
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

  user_data = base64encode(local.user_data[each.key])

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = "${local.prefix}-${each.key}" })
  }

  lifecycle {
    precondition {
      condition     = contains(keys(var.instance_types), each.value.instance_type)
      error_message = "instance type ${each.value.instance_type} is not in var.instance_types: add its vcpu and memory_mib there."
    }
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
  # destroy must not wait for protected instances forever.
  force_delete = true

  launch_template {
    id = aws_launch_template.host[each.key].id
    # A new AMI (the SSM parameter) or user data makes a new template version, which starts an
    # instance refresh below.
    version = aws_launch_template.host[each.key].latest_version
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      # Launch the replacement before terminating; managed draining moves the tasks.
      min_healthy_percentage = 100
      max_healthy_percentage = 200
      instance_warmup        = 120
      skip_matching          = true
      # Every instance is scale-in protected (managed termination protection): replace them too.
      scale_in_protected_instances = "Refresh"
    }
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
