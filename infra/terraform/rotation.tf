# Automatic rotation of the Jitsi secret every rotation_days (the guide: quarterly) by the Go
# Lambda in cmd/rotate-secret (`make lambda` builds dist/rotate-secret.zip). It implements the four
# Secrets Manager rotation steps, regenerating every key of local.secret_keys, and after finishSecret
# forces new deployments of the services in ECS_SERVICES order: core first (prosody re-creates the
# accounts with the new passwords at start), then jvb, then jibri. README "Secret rotation" says
# what a rotation interrupts.

locals {
  rotation_zip = coalesce(var.rotation_lambda_zip, "${path.module}/../../dist/rotate-secret.zip")
  # Rolled after a rotation, in this order.
  rotated_services = concat(
    [local.names.core_service, local.names.jvb_service],
    var.enable_recording ? [local.names.jibri_service] : [],
  )
  rotated_service_arns = [for s in local.rotated_services : "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${local.cluster_name}/${s}"]

  rotation_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "RotateTheJitsiSecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]
        Resource = [aws_secretsmanager_secret.jitsi.arn]
      },
      {
        Sid    = "GeneratePasswords"
        Effect = "Allow"
        Action = ["secretsmanager:GetRandomPassword"]
        # tfsec:ignore:aws-iam-no-policy-wildcards secretsmanager:GetRandomPassword has no resource-level permissions
        Resource = ["*"]
      },
      {
        Sid       = "UseTheSecretKey"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = [aws_kms_key.main.arn]
        Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" } }
      },
      {
        Sid      = "RollTheServices"
        Effect   = "Allow"
        Action   = ["ecs:UpdateService", "ecs:DescribeServices"]
        Resource = local.rotated_service_arns
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.rotation.arn}:log-stream:*"]
      },
    ]
  }
}

resource "aws_cloudwatch_log_group" "rotation" {
  name              = "/aws/lambda/${local.names.rotation_fn}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "rotation" {
  name_prefix = "${local.prefix}-rotate-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "rotation" {
  name   = "rotate-jitsi-secret"
  role   = aws_iam_role.rotation.id
  policy = jsonencode(local.rotation_policy)
}

# tfsec:ignore:aws-lambda-enable-tracing a rotation runs four short steps a quarter; its logs suffice
resource "aws_lambda_function" "rotation" {
  function_name = local.names.rotation_fn
  description   = "Rotates ${local.names.secret} and rolls the Jitsi services"
  role          = aws_iam_role.rotation.arn
  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  filename      = local.rotation_zip
  # Read only when the package exists: validate and the offline tests run without it (apply
  # needs it, and fails clearly when it is missing).
  source_code_hash = fileexists(local.rotation_zip) ? filebase64sha256(local.rotation_zip) : null
  # finishSecret waits for each service to become stable before rolling the next (core, jvb,
  # jibri): minutes, so Lambda's maximum; a rotation retried by Secrets Manager resumes the roll.
  timeout     = 900
  memory_size = 128

  environment {
    variables = {
      ECS_CLUSTER  = local.cluster_name
      ECS_SERVICES = join(",", local.rotated_services)
      # Every new version holds every key, even one the current value lacks.
      SECRET_KEYS = join(",", local.secret_keys)
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.rotation.name
  }

  depends_on = [aws_iam_role_policy.rotation]
}

# Secrets Manager invokes the function for this secret only (confused-deputy guard: the source
# ARN and account).
resource "aws_lambda_permission" "rotation" {
  statement_id   = "AllowSecretsManagerRotation"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.rotation.function_name
  principal      = "secretsmanager.amazonaws.com"
  source_arn     = aws_secretsmanager_secret.jitsi.arn
  source_account = local.account_id
}

resource "aws_secretsmanager_secret_rotation" "jitsi" {
  secret_id           = aws_secretsmanager_secret.jitsi.id
  rotation_lambda_arn = aws_lambda_function.rotation.arn

  rotation_rules {
    automatically_after_days = var.rotation_days
  }

  # The first rotation runs at once when rotation is turned on: only after the initial value
  # exists and the function may be invoked.
  depends_on = [aws_lambda_permission.rotation, aws_secretsmanager_secret_version.jitsi]
}
