# Topology of one Jitsi shard (see README.md):
#   core  (1 task, awsvpc): prosody + jicofo + web on localhost, behind the ALB, registered in
#         Cloud Map as xmpp.<namespace>. Exactly one: rooms live in prosody's and jicofo's memory.
#   jvb   (1..n tasks, host network, one per public host): JVB + confwatch sidecar; joins the JVB
#         brewery MUC.
#   jibri (n tasks, awsvpc): Jibri + recwatch sidecar; joins the Jibri brewery MUC, so each task
#         adds one concurrent recording. Recordings live on EFS, shared by every Jibri task.

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

  # docker-jitsi-meet's authentication switches; web, prosody and jicofo must agree.
  auth_env = var.auth_type == "jwt" ? {
    ENABLE_AUTH            = "1"
    AUTH_TYPE              = "jwt"
    ENABLE_GUESTS          = var.enable_guests ? "1" : "0"
    JWT_APP_ID             = var.jwt_app_id
    JWT_ACCEPTED_ISSUERS   = var.jwt_app_id
    JWT_ACCEPTED_AUDIENCES = var.jwt_accepted_audiences
    } : {
    ENABLE_AUTH = "0"
  }

  # TURN for clients whose network blocks UDP: prosody advertises it (XEP-0215) with short-lived
  # credentials derived from TURN_CREDENTIALS (coturn's static-auth-secret).
  turn_enabled = var.turn_host != "" || var.turns_host != ""
  turn_env = local.turn_enabled ? {
    TURN_HOST      = var.turn_host
    TURN_PORT      = tostring(var.turn_port)
    TURN_TRANSPORT = var.turn_transport
    TURNS_HOST     = var.turns_host
    TURNS_PORT     = tostring(var.turns_port)
  } : {}

  secret_from = { for k in local.secret_keys : k => "${aws_secretsmanager_secret.jitsi.arn}:${k}::" }

  # Keys each container receives (its task family's execution role reads nothing else, iam.tf).
  family_container_keys = {
    prosody = ["JICOFO_AUTH_PASSWORD", "JVB_AUTH_PASSWORD", "JIBRI_XMPP_PASSWORD", "JIBRI_RECORDER_PASSWORD", "JIGASI_XMPP_PASSWORD", "JIGASI_TRANSCRIBER_PASSWORD"]
    jicofo  = ["JICOFO_AUTH_PASSWORD"]
    jvb     = ["JVB_AUTH_PASSWORD"]
    jibri   = ["JIBRI_XMPP_PASSWORD", "JIBRI_RECORDER_PASSWORD"]
  }
  # Values the operator supplies (not rotated by the Lambda): prosody only.
  operator_secret_from = { for k in local.operator_secret_keys : k => "${aws_secretsmanager_secret.operator[0].arn}:${k}::" }

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

  # A crashed sidecar comes back in place instead of staying dead until its task is replaced
  # (ECS container restart policy; it restarts only after 60 s of run time, so a crash loop
  # does not spin).
  sidecar_restart = { enabled = true, restartAttemptPeriod = 60 }

  env_list = { for name, env in {
    prosody = merge(local.xmpp_env, local.auth_env, local.turn_env, {
      ENABLE_XMPP_WEBSOCKET = "1"
      MAX_PARTICIPANTS      = tostring(var.max_participants)
      LOG_LEVEL             = var.prosody_log_level
    })
    jicofo = merge(local.xmpp_env, local.auth_env, {
      XMPP_SERVER = "127.0.0.1"
    })
    web = merge(local.xmpp_env, local.auth_env, {
      XMPP_BOSH_URL_BASE    = "http://127.0.0.1:5280"
      DISABLE_HTTPS         = "1"
      ENABLE_HTTP_REDIRECT  = "0"
      ENABLE_XMPP_WEBSOCKET = "1"
      # The VPC is IPv4 only: nginx must not try to bind [::].
      ENABLE_IPV6 = "0"
    })
    jvb = merge(local.xmpp_env, {
      XMPP_SERVER                      = local.xmpp_server
      JVB_PORT                         = "10000"
      JVB_STUN_SERVERS                 = var.jvb_stun_servers
      JVB_ADVERTISE_PRIVATE_CANDIDATES = "false"
      # /colibri/stats (read by confwatch) and the graceful shutdown it requests; both on the
      # private HTTP server, bound to 127.0.0.1 by /config/custom-jvb.conf (ecs.tf).
      COLIBRI_REST_ENABLED   = "true"
      SHUTDOWN_REST_ENABLED  = "true"
      VIDEOBRIDGE_MAX_MEMORY = "${floor(var.task_memory * 3 / 4)}m"
    })
    confwatch = {
      CONFWATCH_STATS_URL     = "http://127.0.0.1:8080/colibri/stats"
      CONFWATCH_SHUTDOWN_URL  = "http://127.0.0.1:8080/colibri/shutdown"
      CONFWATCH_NAMESPACE     = "Jitsi/JVB"
      CONFWATCH_ENVIRONMENT   = var.environment
      CONFWATCH_DRAIN_TIMEOUT = "${var.jvb_graceful_shutdown_seconds - 15}s"
      CONFWATCH_LOG_FORMAT    = "json"
    }
    jibri = merge(local.xmpp_env, local.uploader_env, {
      XMPP_SERVER                          = local.xmpp_server
      DISPLAY                              = ":0"
      JIBRI_RECORDING_DIR                  = "/storage/recordings"
      JIBRI_FINALIZE_RECORDING_SCRIPT_PATH = "/usr/local/bin/finalize"
      # Give Jibri back within the hold: a recording not committed by then is handed to the
      # recwatch beside it (only while its heartbeat is fresh; never without one).
      JIBRI_UPLOAD_HOLD = var.recording_hold
    })
    recwatch = merge(local.uploader_env, {
      JIBRI_UPLOAD_ROOT = "/storage/recordings"
      # The hook holds Jibri busy, so it gets minutes; the sidecar drains backlogs and large
      # recordings, so one attempt may take longer (it resumes either way).
      JIBRI_UPLOAD_DEADLINE = "1h"
      # Idle-recorder metrics (IdleRecorders, Recorders) for the Jibri scaling policies.
      JIBRI_UPLOAD_JIBRI_HEALTH_URL  = "http://127.0.0.1:2222/jibri/api/v1.0/health"
      JIBRI_UPLOAD_METRICS_NAMESPACE = "Jitsi/Recordings"
      # Recordings are on EFS, shared by every Jibri task: protect this task only while its own
      # Jibri is busy or it has uploads in flight, or one stuck recording protects every task.
      JIBRI_UPLOAD_PROTECT_SCOPE = "own"
    })
  } : name => [for k, v in env : { name = k, value = v } if v != ""] }

  secrets_list = merge(
    { for name, keys in local.family_container_keys : name => [for k in keys : { name = k, valueFrom = local.secret_from[k] }] },
    { prosody = concat(
      [for k in local.family_container_keys.prosody : { name = k, valueFrom = local.secret_from[k] }],
      [for k in local.operator_secret_keys : { name = k, valueFrom = local.operator_secret_from[k] }],
    ) },
  )

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
      # /about/version answers while jicofo's REST server runs and, unlike /about/health, does
      # not fail while no bridge is connected: an essential container failing its health check
      # would replace the whole core task (and every meeting) whenever JVB is down or deploying.
      healthCheck      = { command = ["CMD-SHELL", "curl -fsS -o /dev/null http://127.0.0.1:8888/about/version || exit 1"], interval = 15, retries = 5, startPeriod = 90, timeout = 5 }
      logConfiguration = { logDriver = "awslogs", options = local.log_options }
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

  jvb_containers = [
    {
      name                   = "jvb"
      image                  = local.image.jvb
      essential              = true
      readonlyRootFilesystem = true
      environment            = local.env_list.jvb
      secrets                = local.secrets_list.jvb
      portMappings           = [{ containerPort = 10000, hostPort = 10000, protocol = "udp" }]
      mountPoints            = [{ sourceVolume = "jvb-config", containerPath = "/config", readOnly = true }]
      linuxParameters        = { tmpfs = local.small_tmpfs }
      # Stopped after confwatch (dependencies reverse on shutdown), i.e. once the bridge has
      # drained or the graceful-shutdown window has passed.
      stopTimeout      = 30
      healthCheck      = { command = ["CMD-SHELL", "/usr/local/bin/healthcheck.sh"], interval = 15, retries = 5, startPeriod = 60, timeout = 5 }
      logConfiguration = { logDriver = "awslogs", options = local.log_options }
    },
    {
      # Reads /colibri/stats every 10 s: holds ECS task scale-in protection while the bridge
      # hosts a conference, publishes Conferences/Participants gauges (EMF on stdout, Jitsi/JVB)
      # once a minute, and on SIGTERM asks the bridge for a graceful shutdown and waits for it.
      # The one owner of task protection in this task. Not essential: its exit must not stop a
      # bridge with live conferences.
      name                   = "confwatch"
      image                  = var.confwatch_image
      essential              = false
      readonlyRootFilesystem = true
      user                   = "1000"
      environment            = local.env_list.confwatch
      dependsOn              = [{ containerName = "jvb", condition = "START" }]
      stopTimeout            = var.jvb_graceful_shutdown_seconds
      restartPolicy          = local.sidecar_restart
      logConfiguration       = { logDriver = "awslogs", options = local.log_options }
    },
  ]

  jibri_containers = [
    {
      name                   = "jibri"
      image                  = var.jibri_image
      essential              = true
      readonlyRootFilesystem = true
      environment            = local.env_list.jibri
      secrets                = local.secrets_list.jibri
      # The most time an in-flight hook upload gets after SIGTERM; what it does not finish stays on
      # EFS for any recwatch.
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
      # The sidecar finalizes what the hook missed (crash, deadline, stop, or a recording another
      # task left on EFS), publishes the idle-recorder metrics and holds ECS task scale-in
      # protection while its own Jibri is busy or it uploads. Not essential: its exit must not
      # stop a recording in progress; restarted in place when it crashes.
      name                   = "recwatch"
      image                  = var.recwatch_image
      essential              = false
      readonlyRootFilesystem = true
      user                   = "1000"
      environment            = local.env_list.recwatch
      dependsOn              = [{ containerName = "jibri", condition = "START" }]
      stopTimeout            = 120
      restartPolicy          = local.sidecar_restart
      mountPoints            = [{ sourceVolume = "recordings", containerPath = "/storage/recordings" }]
      logConfiguration       = { logDriver = "awslogs", options = local.log_options }
    },
  ]
}

resource "aws_ecs_task_definition" "core" {
  family                   = "${local.prefix}-core"
  requires_compatibilities = ["EC2"]
  network_mode             = "awsvpc"
  cpu                      = tostring(local.task_sizes.core.cpu)
  memory                   = tostring(local.task_sizes.core.memory)
  execution_role_arn       = local.execution_role_arns["core"]
  container_definitions    = jsonencode(local.core_containers)
  depends_on               = [aws_iam_role_policy.execution]

  # Prosody's account store; task-scoped: accounts are re-created from the secret at every start.
  volume {
    name = "prosody-data"
    docker_volume_configuration {
      scope = "task"
    }
  }

  lifecycle {
    precondition {
      condition     = local.task_placement.core.fits
      error_message = "the core task (${local.task_sizes.core.cpu} CPU, ${local.task_sizes.core.memory} MiB) does not fit a ${var.core_instance_type} after the ECS agent's reservation."
    }
    precondition {
      condition     = !local.turn_enabled || nonsensitive(var.turn_credentials != "")
      error_message = "turn_host/turns_host need turn_credentials (the TURN server's shared secret): prosody would advertise a TURN server without credentials."
    }
    precondition {
      condition     = var.auth_type != "jwt" || (var.jwt_app_id != "" && nonsensitive(var.jwt_app_secret != ""))
      error_message = "auth_type = \"jwt\" needs jwt_app_id and jwt_app_secret."
    }
  }
}

resource "aws_ecs_task_definition" "jvb" {
  family                   = "${local.prefix}-jvb"
  requires_compatibilities = ["EC2"]
  network_mode             = "host"
  cpu                      = tostring(var.task_cpu)
  memory                   = tostring(var.task_memory)
  execution_role_arn       = local.execution_role_arns["jvb"]
  task_role_arn            = aws_iam_role.jvb_task.arn
  container_definitions    = jsonencode(local.jvb_containers)
  depends_on               = [aws_iam_role_policy.execution]

  # custom-jvb.conf written by the media hosts' user data (ecs.tf).
  volume {
    name      = "jvb-config"
    host_path = local.jvb_config_dir
  }

  lifecycle {
    precondition {
      condition     = local.task_placement.jvb.fits
      error_message = "the JVB task (${var.task_cpu} CPU, ${var.task_memory} MiB) does not fit a ${var.media_instance_type} (${local.host_resources.media.cpu} CPU, ${local.host_resources.media.memory} MiB after the ECS agent's reservation): choose a larger media_instance_type or a smaller task."
    }
  }
}

resource "aws_ecs_task_definition" "jibri" {
  count                    = var.enable_recording ? 1 : 0
  family                   = "${local.prefix}-jibri"
  requires_compatibilities = ["EC2"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.task_cpu)
  memory                   = tostring(var.task_memory)
  execution_role_arn       = local.execution_role_arns["jibri"]
  task_role_arn            = aws_iam_role.uploader[0].arn
  container_definitions    = jsonencode(local.jibri_containers)
  depends_on               = [aws_iam_role_policy.execution]

  lifecycle {
    precondition {
      condition     = local.create_bucket
      error_message = "enable_recording = true needs the recording bucket: set create_recording_bucket = true."
    }
    precondition {
      condition     = try(local.task_placement.jibri.fits, false)
      error_message = "the Jibri task (${var.task_cpu} CPU, ${var.task_memory} MiB) does not fit a ${var.core_instance_type} after the ECS agent's reservation."
    }
  }

  # Jibri's logs and scratch (uid 1000 writable), per task.
  volume {
    name = "storage"
    docker_volume_configuration {
      scope = "task"
    }
  }

  # Recordings on EFS through the uid-1000 access point: they outlive their task and their host,
  # and any Jibri task's recwatch finishes what a stopped one left behind.
  volume {
    name = "recordings"
    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.recordings[0].id
      transit_encryption = "ENABLED"
      authorization_config {
        access_point_id = aws_efs_access_point.recordings[0].id
        iam             = "ENABLED"
      }
    }
  }
}

resource "aws_ecs_service" "core" {
  name                               = local.names.core_service
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
  name            = local.names.jvb_service
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.jvb.arn
  desired_count   = max(var.jvb_desired_count, var.jvb_min_count)
  # New bridges start (on new hosts) before old ones stop; an old bridge with conferences stays
  # protected by confwatch until they end.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.host["media"].name
    weight            = 1
  }

  placement_constraints {
    type = "distinctInstance"
  }

  lifecycle {
    ignore_changes = [desired_count]
    precondition {
      condition     = var.media_max_instances > max(var.autoscaling_max, var.jvb_min_count)
      error_message = "media_max_instances must exceed the most JVB tasks (autoscaling_max): one bridge per host, and a deployment starts a new bridge before an old one stops."
    }
  }

  depends_on = [aws_ecs_cluster_capacity_providers.main]
}

resource "aws_ecs_service" "jibri" {
  count                              = var.enable_recording ? 1 : 0
  name                               = local.names.jibri_service
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.jibri[0].arn
  desired_count                      = max(var.jibri_desired_count, var.jibri_min_idle)
  deployment_minimum_healthy_percent = 100
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

  # The EFS mount targets must exist before a task mounts the file system.
  depends_on = [aws_ecs_cluster_capacity_providers.main, aws_efs_mount_target.recordings]
}
