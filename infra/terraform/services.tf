# Topology of one Jitsi shard (see README.md):
#   core  (1 task, awsvpc): prosody + jicofo + web on localhost, behind the ALB, registered in
#         Cloud Map as xmpp.<namespace>. Exactly one: rooms live in prosody's and jicofo's memory.
#   jvb   (0..3 tasks, host network, one per public host): joins the JVB brewery MUC.
#   jibri (0..3 tasks, awsvpc): Jibri + recwatch sidecar; joins the Jibri brewery MUC, so each
#         task adds one concurrent recording.

locals {
  image = { for c in ["prosody", "jicofo", "web", "jvb"] : c => "${var.jitsi_image_repo}/${c}:${var.jitsi_image_version}" }

  xmpp_env = {
    XMPP_DOMAIN              = local.xmpp_domain
    XMPP_AUTH_DOMAIN         = "auth.${local.xmpp_domain}"
    XMPP_MUC_DOMAIN          = "muc.${local.xmpp_domain}"
    XMPP_INTERNAL_MUC_DOMAIN = "internal-muc.${local.xmpp_domain}"
    XMPP_HIDDEN_DOMAIN       = "hidden.${local.xmpp_domain}"
    PUBLIC_URL               = local.public_url
    ENABLE_RECORDING         = var.enable_recording ? "1" : "0"
    TZ                       = "UTC"
  }

  secret_from = { for k in local.secret_keys : k => "${aws_secretsmanager_secret.jitsi.arn}:${k}::" }

  # docker-jitsi-meet images run as uid 1000 with a read-only root; /run must be exec and owned by
  # that uid (s6-overlay). Sizes as in docker-compose.yml / jibri.yml.
  small_tmpfs = [
    { containerPath = "/run", size = 16, mountOptions = ["exec", "mode=1750", "uid=1000", "gid=1000"] },
    { containerPath = "/tmp", size = 16, mountOptions = ["noexec", "mode=1777"] },
  ]

  uploader_env = {
    JIBRI_UPLOAD_BUCKET       = local.create_bucket ? aws_s3_bucket.recordings[0].bucket : ""
    JIBRI_UPLOAD_PREFIX       = var.recording_prefix
    JIBRI_UPLOAD_REGION       = local.region
    JIBRI_UPLOAD_SSE          = var.recording_sse == "aws:kms" ? "aws:kms" : "aes256"
    JIBRI_UPLOAD_KMS_KEY_ID   = local.bucket_kms ? aws_kms_key.main.arn : ""
    JIBRI_UPLOAD_ENVIRONMENT  = var.environment
    JIBRI_UPLOAD_KEY_TEMPLATE = var.recording_key_template
    JIBRI_UPLOAD_LOG_FORMAT   = "json"
    # Jibri waits for finalize with no timeout; past this the watcher takes over.
    JIBRI_UPLOAD_DEADLINE = "10m"
  }

  log_options = {
    "awslogs-group"         = aws_cloudwatch_log_group.ecs.name
    "awslogs-region"        = local.region
    "awslogs-stream-prefix" = "jitsi"
  }

  env_list = { for name, env in {
    prosody = merge(local.xmpp_env, {
      ENABLE_XMPP_WEBSOCKET = "1"
      MAX_PARTICIPANTS      = tostring(var.max_participants)
      TURN_HOST             = var.turn_host
    })
    jicofo = merge(local.xmpp_env, {
      XMPP_SERVER                 = "127.0.0.1"
      JICOFO_ENABLE_HEALTH_CHECKS = "1"
    })
    web = merge(local.xmpp_env, {
      XMPP_BOSH_URL_BASE    = "http://127.0.0.1:5280"
      DISABLE_HTTPS         = "1"
      ENABLE_HTTP_REDIRECT  = "0"
      ENABLE_XMPP_WEBSOCKET = "1"
    })
    jvb = merge(local.xmpp_env, {
      XMPP_SERVER                      = local.xmpp_server
      JVB_PORT                         = "10000"
      JVB_STUN_SERVERS                 = var.jvb_stun_servers
      JVB_ADVERTISE_PRIVATE_CANDIDATES = "false"
      COLIBRI_REST_ENABLED             = "true"
      VIDEOBRIDGE_MAX_MEMORY           = "${floor(var.task_memory * 3 / 4)}m"
    })
    jibri = merge(local.xmpp_env, local.uploader_env, {
      XMPP_SERVER                          = local.xmpp_server
      DISPLAY                              = ":0"
      JIBRI_RECORDING_DIR                  = "/storage/recordings"
      JIBRI_FINALIZE_RECORDING_SCRIPT_PATH = "/usr/local/bin/finalize"
    })
    recwatch = merge(local.uploader_env, {
      JIBRI_UPLOAD_ROOT = "/storage/recordings"
      # The hook holds Jibri busy, so it gets minutes; the sidecar drains backlogs and large
      # recordings, so one attempt may take longer (it resumes either way).
      JIBRI_UPLOAD_DEADLINE = "1h"
    })
  } : name => [for k, v in env : { name = k, value = v } if v != ""] }

  secrets_list = { for name, keys in {
    prosody = ["JICOFO_AUTH_PASSWORD", "JVB_AUTH_PASSWORD", "JIBRI_XMPP_PASSWORD", "JIBRI_RECORDER_PASSWORD", "JIGASI_XMPP_PASSWORD", "JIGASI_TRANSCRIBER_PASSWORD"]
    jicofo  = ["JICOFO_AUTH_PASSWORD", "JICOFO_COMPONENT_SECRET"]
    jvb     = ["JVB_AUTH_PASSWORD"]
    jibri   = ["JIBRI_XMPP_PASSWORD", "JIBRI_RECORDER_PASSWORD"]
  } : name => [for k in keys : { name = k, valueFrom = local.secret_from[k] }] }

  core_containers = [
    {
      name                   = "prosody"
      image                  = local.image.prosody
      essential              = true
      readonlyRootFilesystem = true
      environment            = local.env_list.prosody
      secrets                = local.secrets_list.prosody
      mountPoints            = [{ sourceVolume = "prosody-data", containerPath = "/var/lib/prosody" }]
      linuxParameters        = { tmpfs = local.small_tmpfs }
      healthCheck            = { command = ["CMD-SHELL", "/usr/local/bin/healthcheck.sh"], interval = 15, retries = 5, startPeriod = 60, timeout = 5 }
      logConfiguration       = { logDriver = "awslogs", options = local.log_options }
    },
    {
      name                   = "jicofo"
      image                  = local.image.jicofo
      essential              = true
      readonlyRootFilesystem = true
      environment            = local.env_list.jicofo
      secrets                = local.secrets_list.jicofo
      linuxParameters        = { tmpfs = local.small_tmpfs }
      dependsOn              = [{ containerName = "prosody", condition = "HEALTHY" }]
      healthCheck            = { command = ["CMD-SHELL", "/usr/local/bin/healthcheck.sh"], interval = 15, retries = 5, startPeriod = 90, timeout = 5 }
      logConfiguration       = { logDriver = "awslogs", options = local.log_options }
    },
    {
      name                   = "web"
      image                  = local.image.web
      essential              = true
      readonlyRootFilesystem = true
      environment            = local.env_list.web
      portMappings           = [{ containerPort = 8000, protocol = "tcp" }]
      linuxParameters        = { tmpfs = local.small_tmpfs }
      dependsOn              = [{ containerName = "prosody", condition = "HEALTHY" }]
      healthCheck            = { command = ["CMD-SHELL", "curl -fsS -o /dev/null http://127.0.0.1:8000/ || exit 1"], interval = 15, retries = 3, startPeriod = 30, timeout = 5 }
      logConfiguration       = { logDriver = "awslogs", options = local.log_options }
    },
  ]

  jvb_containers = [{
    name                   = "jvb"
    image                  = local.image.jvb
    essential              = true
    readonlyRootFilesystem = true
    environment            = local.env_list.jvb
    secrets                = local.secrets_list.jvb
    portMappings           = [{ containerPort = 10000, hostPort = 10000, protocol = "udp" }]
    linuxParameters        = { tmpfs = local.small_tmpfs }
    healthCheck            = { command = ["CMD-SHELL", "/usr/local/bin/healthcheck.sh"], interval = 15, retries = 5, startPeriod = 60, timeout = 5 }
    logConfiguration       = { logDriver = "awslogs", options = local.log_options }
  }]

  jibri_containers = [
    {
      name                   = "jibri"
      image                  = var.jibri_image
      essential              = true
      readonlyRootFilesystem = true
      environment            = local.env_list.jibri
      secrets                = local.secrets_list.jibri
      # ECS gives a task at most 120 s after SIGTERM: the most an in-flight upload gets.
      stopTimeout = 120
      mountPoints = [
        { sourceVolume = "storage", containerPath = "/storage" },
        { sourceVolume = "recordings", containerPath = "/storage/recordings" },
      ]
      linuxParameters = {
        # Chrome needs /dev/shm >= 2 GiB; the image's shm-check refuses to start with less.
        sharedMemorySize = 2048
        tmpfs = [
          { containerPath = "/run", size = 256, mountOptions = ["exec", "mode=1750", "uid=1000", "gid=1000"] },
          { containerPath = "/tmp", size = 256, mountOptions = ["noexec", "mode=1777"] },
        ]
      }
      logConfiguration = { logDriver = "awslogs", options = local.log_options }
    },
    {
      # The sidecar finalizes what the hook missed (crash, deadline, stop) and holds ECS task
      # scale-in protection while recordings are not uploaded. Not essential: its exit must not
      # stop a recording in progress.
      name                   = "recwatch"
      image                  = var.recwatch_image
      essential              = false
      readonlyRootFilesystem = true
      user                   = "1000:1000"
      environment            = local.env_list.recwatch
      # Jibri's container is created first, so a fresh recordings volume takes the owner of
      # /storage/recordings in the Jibri image (uid 1000).
      dependsOn        = [{ containerName = "jibri", condition = "START" }]
      stopTimeout      = 120
      mountPoints      = [{ sourceVolume = "recordings", containerPath = "/storage/recordings" }]
      logConfiguration = { logDriver = "awslogs", options = local.log_options }
    },
  ]
}

resource "aws_ecs_task_definition" "core" {
  family                   = "${local.prefix}-core"
  requires_compatibilities = ["EC2"]
  network_mode             = "awsvpc"
  cpu                      = "2048"
  memory                   = "4096"
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions    = jsonencode(local.core_containers)

  # Prosody's account store; task-scoped: accounts are re-created from the secret at every start.
  volume {
    name = "prosody-data"
    docker_volume_configuration {
      scope = "task"
    }
  }
}

resource "aws_ecs_task_definition" "jvb" {
  family                   = "${local.prefix}-jvb"
  requires_compatibilities = ["EC2"]
  network_mode             = "host"
  cpu                      = tostring(var.task_cpu)
  memory                   = tostring(var.task_memory)
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions    = jsonencode(local.jvb_containers)
}

resource "aws_ecs_task_definition" "jibri" {
  count                    = var.enable_recording ? 1 : 0
  family                   = "${local.prefix}-jibri"
  requires_compatibilities = ["EC2"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.task_cpu)
  memory                   = tostring(var.task_memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.uploader[0].arn
  container_definitions    = jsonencode(local.jibri_containers)

  lifecycle {
    precondition {
      condition     = local.create_bucket
      error_message = "enable_recording = true needs the recording bucket: set create_recording_bucket = true."
    }
  }

  # Jibri's logs and scratch (uid 1000 writable), per task.
  volume {
    name = "storage"
    docker_volume_configuration {
      scope = "task"
    }
  }

  # Recordings outlive the task on its host: a replacement task's recwatch finishes what a stopped
  # one left behind.
  volume {
    name = "recordings"
    docker_volume_configuration {
      scope         = "shared"
      autoprovision = true
      driver        = "local"
    }
  }
}

resource "aws_ecs_service" "core" {
  name                               = "core"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.core.arn
  desired_count                      = 1
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  health_check_grace_period_seconds  = 180

  capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.host["core"].name
    weight            = 1
  }

  network_configuration {
    subnets         = local.private_subnet_ids
    security_groups = [aws_security_group.core_task.id]
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "web"
    container_port   = 8000
  }

  service_registries {
    registry_arn = aws_service_discovery_service.xmpp.arn
  }

  depends_on = [aws_lb_listener.https, aws_ecs_cluster_capacity_providers.main]
}

resource "aws_ecs_service" "jvb" {
  name                               = "jvb"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.jvb.arn
  desired_count                      = var.jvb_desired_count
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.host["media"].name
    weight            = 1
  }

  placement_constraints {
    type = "distinctInstance"
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.main]
}

resource "aws_ecs_service" "jibri" {
  count                              = var.enable_recording ? 1 : 0
  name                               = "jibri"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.jibri[0].arn
  desired_count                      = var.jibri_desired_count
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 200

  capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.host["core"].name
    weight            = 1
  }

  network_configuration {
    subnets         = local.private_subnet_ids
    security_groups = [aws_security_group.jibri.id]
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.main]
}
