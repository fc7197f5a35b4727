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
  description = "Name prefix of every resource."
  type        = string
  default     = "jitsi"
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

variable "jibri_image" {
  description = "Our Jibri image (docker/jibri/Dockerfile): the jitsi Jibri image with the finalize hook."
  type        = string
  default     = "ghcr.io/jitsi-recorder/jibri-s3:stable-11146-2"
}

variable "recwatch_image" {
  description = "Our recwatch sidecar image (docker/jibri/Dockerfile.recwatch)."
  type        = string
  default     = "ghcr.io/jitsi-recorder/recwatch:stable-11146-2" # tagged by docker/jibri/build.sh with the Jitsi tag it was built with
}

variable "ecr_repository_arns" {
  description = "Private ECR repositories the images are pulled from, if any (grants pull on exactly these)."
  type        = list(string)
  default     = []
}

# --- Capacity ----------------------------------------------------------------------------------

variable "core_instance_type" {
  description = "Instance type of the private hosts (web+prosody+jicofo task and Jibri tasks)."
  type        = string
  default     = "c6i.2xlarge"
}

variable "media_instance_type" {
  description = "Instance type of the public JVB hosts (one JVB per host)."
  type        = string
  default     = "c6i.xlarge"
}

variable "core_max_instances" {
  description = "Most private hosts."
  type        = number
  default     = 4
}

variable "media_max_instances" {
  description = "Most JVB hosts."
  type        = number
  default     = 3
}

variable "autoscaling_min" {
  description = "Fewest JVB and Jibri tasks (0 lets idle services scale to zero)."
  type        = number
  default     = 0
}

variable "autoscaling_max" {
  description = "Most JVB and Jibri tasks."
  type        = number
  default     = 3
}

variable "autoscaling_target" {
  description = "Target CPU and memory utilization (%) of the target-tracking policies."
  type        = number
  default     = 70
}

variable "autoscaling_cooldown" {
  description = "Scale-in and scale-out cooldown in seconds."
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
  description = "TURN server for clients whose network blocks UDP (no TURN server is created); empty for none."
  type        = string
  default     = ""
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

variable "jvb_conference_log_pattern" {
  description = "CloudWatch Logs filter pattern of the JVB log line written when a conference is created."
  type        = string
  default     = "\"create_conf\""
}

variable "jvb_participant_log_pattern" {
  description = "CloudWatch Logs filter pattern of the JVB log line written when a participant (endpoint) joins."
  type        = string
  default     = "\"Created new endpoint\""
}
