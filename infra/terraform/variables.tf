# --- Guide defaults ----------------------------------------------------------------------------

variable "environment" {
  description = "Environment name, used in resource names, tags and the Environment metric dimension."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,16}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or dashes."
  }
}

variable "task_cpu" {
  description = "CPU units of a JVB task and of a Jibri task (1024 = one vCPU)."
  type        = number
  default     = 4096
}

variable "task_memory" {
  description = "Memory (MiB) of a JVB task and of a Jibri task."
  type        = number
  default     = 8192
}

variable "enable_recording" {
  description = "Run Jibri with the uploader sidecar. false removes Jibri, its roles and alarms; the bucket is governed by create_recording_bucket."
  type        = bool
  default     = true
}

variable "max_participants" {
  description = "Most participants in one conference (prosody mod_muc_max_occupants)."
  type        = number
  default     = 50
}

# --- Where and what ----------------------------------------------------------------------------

variable "name" {
  description = "Name of the platform: the cluster is <name>-cluster, the core service <name>-service, the log group /ecs/<name>, the secret <name>-jitsi-secrets (the guide's names with the default). Use one name per environment in an account and region."
  type        = string
  default     = "jitsi-video-platform"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name))
    error_message = "name must be 1-24 lowercase letters, digits or dashes, starting with a letter (IAM name prefixes and target group names limit its length)."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "domain" {
  description = "Public host name of the meetings, e.g. meet.example.com (point its DNS at the load balancer)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for domain, used by the HTTPS listener."
  type        = string
}

variable "alarm_email" {
  description = "Email address subscribed to the alarm topic; empty for none."
  type        = string
  default     = ""
}

# --- Network -----------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR of the VPC created when vpc_id is null."
  type        = string
  default     = "10.40.0.0/16"
}

variable "vpc_id" {
  description = "Existing VPC to use instead of creating one; then public_subnet_ids and private_subnet_ids are required."
  type        = string
  default     = null
}

variable "public_subnet_ids" {
  description = "Public subnets (2 AZs) of the existing VPC: load balancer and JVB hosts."
  type        = list(string)
  default     = []
}

variable "private_subnet_ids" {
  description = "Private subnets (2 AZs, with a NAT route) of the existing VPC: core and Jibri."
  type        = list(string)
  default     = []
}

# --- Images ------------------------------------------------------------------------------------

variable "jitsi_image_repo" {
  description = "Registry and owner of the docker-jitsi-meet images."
  type        = string
  default     = "ghcr.io/jitsi"
}

variable "jitsi_image_version" {
  description = "docker-jitsi-meet release tag (web, prosody, jicofo, jvb)."
  type        = string
  default     = "stable-11146-2"
}

# Our images are published by nobody: build them with docker/jibri/build.sh and push them to a
# registry the hosts can pull from (ECR: list it in ecr_repository_arns). No default on purpose.
variable "jibri_image" {
  description = "Our Jibri image (docker/jibri/Dockerfile), registry/repository:tag or @sha256 digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/jibri-s3:stable-11146-2."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([.-][a-z0-9]+)*(\\.[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?|:[0-9]+)(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.jibri_image)) && !endswith(var.jibri_image, ":latest")
    error_message = "jibri_image must be registry/repository:tag or registry/repository@sha256:<digest> (a registry host, a pinned tag, not :latest)."
  }
}

variable "recwatch_image" {
  description = "Our recwatch sidecar image (docker/jibri/Dockerfile.recwatch), registry/repository:tag or @sha256 digest."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([.-][a-z0-9]+)*(\\.[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?|:[0-9]+)(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.recwatch_image)) && !endswith(var.recwatch_image, ":latest")
    error_message = "recwatch_image must be registry/repository:tag or registry/repository@sha256:<digest> (a registry host, a pinned tag, not :latest)."
  }
}

variable "confwatch_image" {
  description = "Our JVB sidecar image (docker/jibri/Dockerfile.confwatch: conference gauges, task protection, graceful shutdown), registry/repository:tag or @sha256 digest."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([.-][a-z0-9]+)*(\\.[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?|:[0-9]+)(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.confwatch_image)) && !endswith(var.confwatch_image, ":latest")
    error_message = "confwatch_image must be registry/repository:tag or registry/repository@sha256:<digest> (a registry host, a pinned tag, not :latest)."
  }
}

variable "ecr_repository_arns" {
  description = "Private ECR repositories the images are pulled from, if any (grants pull on exactly these)."
  type        = list(string)
  default     = []
}

# --- Capacity ----------------------------------------------------------------------------------

variable "core_instance_type" {
  description = "Instance type of the private hosts (web+prosody+jicofo task and Jibri tasks); a key of instance_types."
  type        = string
  default     = "c6i.2xlarge"
}

variable "media_instance_type" {
  description = "Instance type of the public JVB hosts (one JVB per host). m6i.xlarge: 4 vCPU like c6i.xlarge, but 16 GiB, so the guide's 8192 MiB JVB task fits after the agent's reservation (c6i.xlarge registers less than 8192 MiB)."
  type        = string
  default     = "m6i.xlarge"
}

variable "instance_types" {
  description = "What the stack knows of each instance type it may use: vCPUs and installed memory (MiB), from the EC2 instance type documentation. core_instance_type and media_instance_type must be keys of it; add a type here to use it."
  type        = map(object({ vcpu = number, memory_mib = number }))
  default = {
    "c6i.xlarge"  = { vcpu = 4, memory_mib = 8192 }
    "c6i.2xlarge" = { vcpu = 8, memory_mib = 16384 }
    "c6i.4xlarge" = { vcpu = 16, memory_mib = 32768 }
    "c7i.xlarge"  = { vcpu = 4, memory_mib = 8192 }
    "c7i.2xlarge" = { vcpu = 8, memory_mib = 16384 }
    "m6i.large"   = { vcpu = 2, memory_mib = 8192 }
    "m6i.xlarge"  = { vcpu = 4, memory_mib = 16384 }
    "m6i.2xlarge" = { vcpu = 8, memory_mib = 32768 }
    "m7i.xlarge"  = { vcpu = 4, memory_mib = 16384 }
    "m7i.2xlarge" = { vcpu = 8, memory_mib = 32768 }
  }

  validation {
    condition = alltrue([for t, s in var.instance_types :
      can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t)) && s.vcpu >= 1 && floor(s.vcpu) == s.vcpu && s.memory_mib >= 1024 && floor(s.memory_mib) == s.memory_mib
    ])
    error_message = "instance_types: keys are EC2 instance type names (family.size); vcpu a whole number >= 1, memory_mib a whole number >= 1024."
  }
}

variable "ecs_reserved_memory" {
  description = "MiB the ECS agent keeps for the OS and itself on every host (ECS_RESERVED_MEMORY)."
  type        = number
  default     = 256
}

variable "os_memory_overhead_percent" {
  description = "Share (%) of the installed memory the ECS agent does not see: it registers the kernel's MemTotal, which is below the installed memory (AWS's example: about 7,985 MiB registered on an 8 GiB instance, 2.5 %). 4 % errs on the safe side."
  type        = number
  default     = 4

  validation {
    condition     = var.os_memory_overhead_percent >= 2.5 && var.os_memory_overhead_percent < 50
    error_message = "os_memory_overhead_percent must be at least 2.5 (the documented example) and below 50."
  }
}

variable "core_max_instances" {
  description = "Most private hosts."
  type        = number
  default     = 4
}

variable "media_max_instances" {
  description = "Most JVB hosts (one bridge each). Must exceed autoscaling_max: a deployment at 100 %/200 % starts a new bridge on a free host before an old one stops."
  type        = number
  default     = 4
}

variable "jvb_min_count" {
  description = "Fewest JVB tasks. At least 1: with no bridge no meeting can start, and nothing would scale a bridge out of zero (CPU target tracking has no metric without a task)."
  type        = number
  default     = 1

  validation {
    condition     = var.jvb_min_count >= 1
    error_message = "jvb_min_count must be at least 1: a meeting needs a bridge, and target tracking cannot scale out of zero tasks."
  }
}

variable "jibri_min_idle" {
  description = "Idle recorders kept ready: when fewer Jibri tasks than this are idle (or none reports, e.g. zero tasks), one more is started; above it, one idle task is removed."
  type        = number
  default     = 1

  validation {
    condition     = var.jibri_min_idle >= 0 && floor(var.jibri_min_idle) == var.jibri_min_idle
    error_message = "jibri_min_idle must be a whole number >= 0."
  }
}

variable "autoscaling_max" {
  description = "Most JVB and Jibri tasks each (keep media_max_instances above it: a JVB deployment at 200 % starts the new bridges on extra hosts)."
  type        = number
  default     = 3
}

variable "autoscaling_target" {
  description = "Target CPU utilization (%) of the JVB target-tracking policy."
  type        = number
  default     = 70
}

variable "autoscaling_cooldown" {
  description = "Scale-in and scale-out cooldown in seconds (JVB target tracking, Jibri step scaling)."
  type        = number
  default     = 300
}

variable "jvb_desired_count" {
  description = "JVB tasks started with the stack (autoscaling moves it afterwards)."
  type        = number
  default     = 1
}

variable "jibri_desired_count" {
  description = "Jibri tasks started with the stack; each records one meeting at a time."
  type        = number
  default     = 1
}

# --- JVB ---------------------------------------------------------------------------------------

variable "jvb_stun_servers" {
  description = "STUN servers JVB uses to learn its public address (host:port, comma separated)."
  type        = string
  default     = "meet-jit-si-turnrelay.jitsi.net:443"
}

variable "turn_host" {
  description = "TURN server (TURN_HOST) for clients whose network blocks UDP; no TURN server is created. Empty for none."
  type        = string
  default     = ""
}

variable "turns_host" {
  description = "TURN-over-TLS server (TURNS_HOST), usually the same coturn on 443/tcp; empty for none."
  type        = string
  default     = ""
}

variable "turn_port" {
  description = "Port of turn_host (TURN_PORT)."
  type        = number
  default     = 3478
}

variable "turns_port" {
  description = "Port of turns_host (TURNS_PORT)."
  type        = number
  default     = 443
}

variable "turn_transport" {
  description = "Transports prosody advertises for turn_host (TURN_TRANSPORT): tcp, udp or \"udp,tcp\"."
  type        = string
  default     = "udp,tcp"

  validation {
    condition     = contains(["tcp", "udp", "udp,tcp", "tcp,udp"], var.turn_transport)
    error_message = "turn_transport must be tcp, udp or udp,tcp."
  }
}

variable "turn_credentials" {
  description = "Shared secret of the TURN server (coturn static-auth-secret; prosody's TURN_CREDENTIALS). Required when turn_host or turns_host is set; stored in Secrets Manager, given to prosody only."
  type        = string
  default     = ""
  sensitive   = true
}

# --- Authentication --------------------------------------------------------------------------------

variable "auth_type" {
  description = "\"none\": anyone who can open the site may create rooms and start recordings (the default of docker-jitsi-meet). \"jwt\": only holders of a JWT signed with jwt_app_secret may create rooms (ENABLE_AUTH=1, AUTH_TYPE=jwt)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "jwt"], var.auth_type)
    error_message = "auth_type must be \"none\" or \"jwt\" (internal accounts would live in prosody's task-scoped store and vanish at every restart)."
  }
}

variable "jwt_app_id" {
  description = "JWT issuer/application id (JWT_APP_ID) when auth_type = \"jwt\"."
  type        = string
  default     = ""
}

variable "jwt_app_secret" {
  description = "HMAC secret of the tokens (JWT_APP_SECRET) when auth_type = \"jwt\"; stored in Secrets Manager, given to prosody only."
  type        = string
  default     = ""
  sensitive   = true
}

variable "jwt_accepted_audiences" {
  description = "Accepted token audiences (JWT_ACCEPTED_AUDIENCES, comma separated); empty keeps prosody's default."
  type        = string
  default     = ""
}

variable "enable_guests" {
  description = "With auth_type = \"jwt\": let participants without a token join rooms that an authenticated user created (ENABLE_GUESTS)."
  type        = bool
  default     = false
}

variable "prosody_log_level" {
  description = "Prosody log level (LOG_LEVEL)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.prosody_log_level)
    error_message = "prosody_log_level must be debug, info, warn or error."
  }
}

variable "jvb_graceful_shutdown_seconds" {
  description = "Stop timeout of the JVB sidecar: on SIGTERM it asks the bridge for a graceful shutdown (no new conferences; it exits when the last one ends) and waits this long before the bridge itself is stopped. EC2 tasks have no 120 s cap (that is Fargate's)."
  type        = number
  default     = 600

  validation {
    condition     = var.jvb_graceful_shutdown_seconds >= 30 && var.jvb_graceful_shutdown_seconds <= 3600
    error_message = "jvb_graceful_shutdown_seconds must be between 30 and 3600."
  }
}

# --- Secret rotation -------------------------------------------------------------------------------

variable "rotation_lambda_zip" {
  description = "The rotation Lambda's deployment package (make lambda builds dist/rotate-secret.zip); null means ../../dist/rotate-secret.zip from this directory. Only apply reads it."
  type        = string
  default     = null
}

variable "rotation_days" {
  description = "Days between automatic rotations of the Jitsi secret (the guide: quarterly)."
  type        = number
  default     = 90

  validation {
    condition     = var.rotation_days >= 1 && var.rotation_days <= 1000
    error_message = "rotation_days must be between 1 and 1000 (Secrets Manager's range)."
  }
}

# --- Recordings --------------------------------------------------------------------------------

variable "create_recording_bucket" {
  description = "Create the recording bucket (and its KMS key); also possible with enable_recording = false."
  type        = bool
  default     = true
}

variable "recording_bucket_name" {
  description = "Name of the recording bucket; null derives one from name, environment and account."
  type        = string
  default     = null
}

variable "recording_prefix" {
  description = "Key prefix of the recordings; the uploader's role may write only below it."
  type        = string
  default     = "recordings"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.()-]+(/[A-Za-z0-9!_.()-]+)*$", var.recording_prefix))
    error_message = "recording_prefix must be a non-empty key prefix without leading or trailing slash."
  }
}

variable "recording_key_template" {
  description = "Object key template of the uploader (JIBRI_UPLOAD_KEY_TEMPLATE); empty keeps the uploader's default."
  type        = string
  default     = ""
  validation {
    # The uploader's role may only write below the prefix.
    condition     = var.recording_key_template == "" || startswith(var.recording_key_template, "{prefix}/")
    error_message = "recording_key_template must start with \"{prefix}/\": the uploader may only write below recording_prefix."
  }
}

variable "enable_recording_ready" {
  description = "Publish a recording-ready message to an SNS topic (output recording_ready_topic_arn) whenever the uploader writes a recording's manifest.json (S3 events through EventBridge). Needs the stack's bucket."
  type        = bool
  default     = true
}

variable "recording_ready_emails" {
  description = "E-mail addresses subscribed to the recording-ready topic; each gets a confirmation mail from AWS first."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.recording_ready_emails : can(regex("^[^@\\s]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$", e))])
    error_message = "recording_ready_emails must hold e-mail addresses (name@example.com)."
  }
  validation {
    condition     = length(distinct(var.recording_ready_emails)) == length(var.recording_ready_emails)
    error_message = "recording_ready_emails lists an address twice."
  }
}

variable "recording_sse" {
  description = "Bucket encryption: \"aws:kms\" (SSE-KMS with a customer key, the default) or \"AES256\" (SSE-S3)."
  type        = string
  default     = "aws:kms"

  validation {
    condition     = contains(["aws:kms", "AES256"], var.recording_sse)
    error_message = "recording_sse must be \"aws:kms\" or \"AES256\"."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which incomplete multipart uploads are aborted (the watcher resumes them well before)."
  type        = number
  default     = 7
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions expire."
  type        = number
  default     = 30
}

variable "transition_days" {
  description = "Days after which recordings move to transition_storage_class; null for no transition."
  type        = number
  default     = null
}

variable "transition_storage_class" {
  description = "Colder storage class of the optional transition."
  type        = string
  default     = "GLACIER_IR"
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
  default     = 30
}

variable "recording_success_threshold" {
  description = "Alarm when fewer than this percentage of recordings upload in an hour."
  type        = number
  default     = 95
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}



variable "recording_hold" {
  description = "How long Jibri's finalize hook holds the recorder before it hands an unfinished upload to the recwatch sidecar: auto (20s), a duration such as 30s, or 0 (never hand off)."
  type        = string
  default     = "auto"
  validation {
    condition     = can(regex("^(auto|0|[0-9]+(ms|s|m))$", var.recording_hold))
    error_message = "recording_hold is auto, 0 or a duration such as 20s or 2m."
  }
}
