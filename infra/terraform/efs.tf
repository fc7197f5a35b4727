# Recordings not yet uploaded live on EFS, not on the host: they survive the loss of their task and
# of their host (a scale-in or instance refresh deletes the host's root volume), and every Jibri
# task mounts the same directory, so any recwatch finishes what a stopped task left behind. See
# README "Recordings that outlive their host" for the choice and the AWS documentation.

resource "aws_efs_file_system" "recordings" {
  count            = var.enable_recording ? 1 : 0
  creation_token   = "${local.prefix}-recordings"
  encrypted        = true
  kms_key_id       = aws_kms_key.main.arn
  performance_mode = "generalPurpose"
  # Elastic throughput: recordings arrive in bursts; bursting mode on a nearly empty file system
  # would have almost no credits.
  throughput_mode = "elastic"

  tags = { Name = "${local.prefix}-recordings" }
}

# Uploaded recordings are deleted from EFS; what stays is transient, so no backup.
resource "aws_efs_backup_policy" "recordings" {
  count          = var.enable_recording ? 1 : 0
  file_system_id = aws_efs_file_system.recordings[0].id

  backup_policy {
    status = "DISABLED"
  }
}

# Every client is Jibri's uid/gid 1000 in /recordings, whatever uid the container runs as.
resource "aws_efs_access_point" "recordings" {
  count          = var.enable_recording ? 1 : 0
  file_system_id = aws_efs_file_system.recordings[0].id

  posix_user {
    uid = 1000
    gid = 1000
  }

  root_directory {
    path = "/recordings"
    creation_info {
      owner_uid   = 1000
      owner_gid   = 1000
      permissions = "0750"
    }
  }
}

resource "aws_efs_mount_target" "recordings" {
  count           = var.enable_recording ? length(local.private_subnet_ids) : 0
  file_system_id  = aws_efs_file_system.recordings[0].id
  subnet_id       = local.private_subnet_ids[count.index]
  security_groups = [aws_security_group.efs[0].id]
}

resource "aws_efs_file_system_policy" "recordings" {
  count          = var.enable_recording ? 1 : 0
  file_system_id = aws_efs_file_system.recordings[0].id
  policy         = jsonencode(local.efs_policy)
}

locals {
  efs_policy = !var.enable_recording ? null : {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyWithoutTLS"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "*"
        Resource  = aws_efs_file_system.recordings[0].arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "JibriTasksThroughAccessPoint"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.uploader[0].arn }
        Action    = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
        Resource  = aws_efs_file_system.recordings[0].arn
        Condition = { StringEquals = { "elasticfilesystem:AccessPointArn" = aws_efs_access_point.recordings[0].arn } }
      },
    ]
  }
}
