# Least privilege: every statement names its resources (no "*"), except where AWS has no
# resource-level permission for the action (see the tfsec:ignore comments for the reasons).

locals {
  ecs_tasks_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:*" }
        StringEquals = { "aws:SourceAccount" = local.account_id }
      }
    }]
  })

  log_streams_arn = "${aws_cloudwatch_log_group.ecs.arn}:log-stream:*"

  # One execution role per task family (used by the ECS agent only, never visible to the
  # containers): pull images, write logs, read the secrets whose keys its containers get. Secrets
  # Manager has no per-JSON-key permission, so the key split is the task definition's `secrets`
  # (each family lists only its keys, asserted in the tests); the operator secret (TURN, JWT) is
  # readable by the core role alone.
  execution_families = merge(
    { core = true, jvb = true },
    var.enable_recording ? { jibri = true } : {},
  )
  execution_role_names = { for f in ["core", "jvb", "jibri"] : f => "${local.prefix}-${f}-exec" }
  execution_role_arns  = { for f, n in local.execution_role_names : f => "arn:${local.partition}:iam::${local.account_id}:role/${n}" }
  execution_secret_arns = {
    core  = concat([aws_secretsmanager_secret.jitsi.arn], aws_secretsmanager_secret.operator[*].arn)
    jvb   = [aws_secretsmanager_secret.jitsi.arn]
    jibri = [aws_secretsmanager_secret.jitsi.arn]
  }
  execution_policy = { for f, _ in local.execution_families : f => {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ReadOwnSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = local.execution_secret_arns[f]
      },
      {
        Sid       = "DecryptSecrets"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = [aws_kms_key.main.arn]
        Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" } }
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = [local.log_streams_arn]
      },
      ], length(var.ecr_repository_arns) == 0 ? [] : [
      {
        Sid      = "PullImages"
        Effect   = "Allow"
        Action   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Resource = var.ecr_repository_arns
      },
      {
        Sid    = "EcrLogin"
        Effect = "Allow"
        Action = ["ecr:GetAuthorizationToken"]
        # tfsec:ignore:aws-iam-no-policy-wildcards ecr:GetAuthorizationToken has no resource-level permissions
        Resource = ["*"]
      },
    ])
  } }

  task_protection_statement = {
    Sid      = "TaskScaleInProtection"
    Effect   = "Allow"
    Action   = ["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"]
    Resource = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${local.cluster_name}/*"]
  }

  # The JVB task's role: confwatch sets its task's scale-in protection through the ECS agent,
  # which makes the call with this role. Nothing else.
  jvb_task_policy = {
    Version   = "2012-10-17"
    Statement = [local.task_protection_statement]
  }

  # The uploader (finalize and recwatch in the Jibri task): write and verify objects below the
  # recordings prefix, resume its own multipart uploads, use the bucket key, protect its task.
  uploader_policy = !(local.create_bucket && var.enable_recording) ? null : {
    Version = "2012-10-17"
    Statement = concat([
      {
        # GetObjectVersion: the bucket is versioned, so verification is a HeadObject of the exact
        # version the upload returned. PutObjectTagging: uploads carry x-amz-tagging when
        # JIBRI_UPLOAD_TAGS is set.
        Sid    = "WriteRecordings"
        Effect = "Allow"
        Action = [
          "s3:PutObject",
          "s3:PutObjectTagging",
          "s3:GetObject",
          "s3:GetObjectVersion",
          "s3:AbortMultipartUpload",
          "s3:ListMultipartUploadParts",
        ]
        Resource = [local.recordings_arn]
      },
      {
        # Finding the unfinished multipart uploads of a key to resume or abort. This action has
        # no s3:prefix condition key (only ListBucket does), so it is granted on the bucket; it
        # reveals upload ids and keys, never object data. No s3:ListBucket: the uploader never
        # lists objects (a HeadObject of a missing key then answers 403, which it handles).
        Sid      = "FindOwnMultipartUploads"
        Effect   = "Allow"
        Action   = ["s3:ListBucketMultipartUploads"]
        Resource = [local.bucket_arn]
      },
      local.task_protection_statement,
      {
        # The recordings file system, through its uid-1000 access point only, over TLS (the file
        # system policy denies anything else).
        Sid       = "MountRecordings"
        Effect    = "Allow"
        Action    = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
        Resource  = aws_efs_file_system.recordings[*].arn
        Condition = { StringEquals = { "elasticfilesystem:AccessPointArn" = aws_efs_access_point.recordings[0].arn } }
      },
      ], local.bucket_kms ? [{
        Sid       = "UseBucketKey"
        Effect    = "Allow"
        Action    = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource  = [aws_kms_key.main.arn]
        Condition = { StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" } }
    }] : [])
  }
}

# Named (not name-prefixed), so each task definition names its family's role by ARN.
resource "aws_iam_role" "execution" {
  for_each           = local.execution_families
  name               = local.execution_role_names[each.key]
  assume_role_policy = local.ecs_tasks_trust
}

resource "aws_iam_role_policy" "execution" {
  for_each = local.execution_families
  name     = "execution"
  role     = aws_iam_role.execution[each.key].id
  policy   = jsonencode(local.execution_policy[each.key])
}

resource "aws_iam_role" "jvb_task" {
  name_prefix        = "${local.prefix}-jvb-"
  assume_role_policy = local.ecs_tasks_trust
}

resource "aws_iam_role_policy" "jvb_task" {
  name   = "task-protection"
  role   = aws_iam_role.jvb_task.id
  policy = jsonencode(local.jvb_task_policy)
}

resource "aws_iam_role" "uploader" {
  count              = var.enable_recording ? 1 : 0
  name_prefix        = "${local.prefix}-jibri-"
  assume_role_policy = local.ecs_tasks_trust
}

resource "aws_iam_role_policy" "uploader" {
  count  = var.enable_recording && local.create_bucket ? 1 : 0
  name   = "uploader"
  role   = aws_iam_role.uploader[0].id
  policy = jsonencode(local.uploader_policy)
}

# Container instances: the AWS managed ECS instance policy (the agent's registration and polling
# calls have no resource-level permissions).
resource "aws_iam_role" "instance" {
  name_prefix = "${local.prefix}-host-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "instance_ecs" {
  role       = aws_iam_role.instance.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
}

resource "aws_iam_instance_profile" "instance" {
  name_prefix = "${local.prefix}-host-"
  role        = aws_iam_role.instance.name
}

resource "aws_iam_role" "flow_logs" {
  count       = local.create_vpc ? 1 : 0
  name_prefix = "${local.prefix}-flow-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "vpc-flow-logs.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

# tfsec:ignore:aws-iam-no-policy-wildcards the service names its log streams (one per ENI); the ARN is limited to the one flow-log group
resource "aws_iam_role_policy" "flow_logs" {
  count = local.create_vpc ? 1 : 0
  name  = "flow-logs"
  role  = aws_iam_role.flow_logs[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = ["${aws_cloudwatch_log_group.flow[0].arn}:log-stream:*"]
      }, {
      # The flow-logs service checks that its log group exists (the IAM role the VPC guide
      # prescribes includes it); limited to this account's log groups in the region.
      Effect   = "Allow"
      Action   = ["logs:DescribeLogGroups"]
      Resource = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }]
  })
}
