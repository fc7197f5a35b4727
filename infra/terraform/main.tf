data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  prefix = "${var.name}-${var.environment}"

  # The names the guide's operational commands use (README "Operations"); with the default name:
  # jitsi-video-platform-cluster, -service, /ecs/jitsi-video-platform, -jitsi-secrets.
  names = {
    cluster       = "${var.name}-cluster"
    core_service  = "${var.name}-service"
    jvb_service   = "${var.name}-jvb"
    jibri_service = "${var.name}-jibri"
    log_group     = "/ecs/${var.name}"
    secret        = "${var.name}-jitsi-secrets"
    rotation_fn   = "${var.name}-rotate-secret"
  }
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # The provider is configured with var.region (versions.tf); no data source, whose attribute
  # name differs between provider 5.x (name) and 6.x (region).
  region = var.region

  tags = merge(var.tags, {
    Project     = var.name
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  public_url = "https://${var.domain}"

  # Logical XMPP names (docker-jitsi-meet defaults); only XMPP_SERVER must resolve, through Cloud Map.
  xmpp_domain = "meet.jitsi"
  xmpp_server = "xmpp.${aws_service_discovery_private_dns_namespace.internal.name}"

  create_bucket  = var.create_recording_bucket
  bucket_kms     = local.create_bucket && var.recording_sse == "aws:kms"
  bucket_name    = coalesce(var.recording_bucket_name, "${local.prefix}-recordings-${local.account_id}")
  bucket_arn     = local.create_bucket ? aws_s3_bucket.recordings[0].arn : null
  recordings_arn = local.create_bucket ? "${aws_s3_bucket.recordings[0].arn}/${var.recording_prefix}/*" : null
}
