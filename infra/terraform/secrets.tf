# One secret (JSON) with every XMPP password of the stack. ECS injects single keys into the
# containers (`secrets` with valueFrom "<arn>:<KEY>::"); outside ECS, `finalize secrets` fetches it.
# Rotation: the rotation Lambda (rotation.tf) regenerates every key of local.secret_keys every
# rotation_days and rolls the services (core first, then jvb, then jibri).

locals {
  secret_keys = [
    "JICOFO_AUTH_PASSWORD",
    "JICOFO_COMPONENT_SECRET",
    "JVB_AUTH_PASSWORD",
    "JIBRI_XMPP_PASSWORD",
    "JIBRI_RECORDER_PASSWORD",
    "JIGASI_XMPP_PASSWORD",
    "JIGASI_TRANSCRIBER_PASSWORD",
  ]

  # Values the operator chooses (the TURN server's shared secret, the JWT signing secret): a
  # second secret, read by the core task's execution role only, never rotated by the Lambda
  # (they must change together with the TURN server or the token issuer).
  operator_values = merge(
    local.turn_enabled ? { TURN_CREDENTIALS = var.turn_credentials } : {},
    var.auth_type == "jwt" ? { JWT_APP_SECRET = var.jwt_app_secret } : {},
  )
  # Derived from the switches, not from the (sensitive) values, so it can drive count.
  operator_secret_keys = sort(concat(
    local.turn_enabled ? ["TURN_CREDENTIALS"] : [],
    var.auth_type == "jwt" ? ["JWT_APP_SECRET"] : [],
  ))
}

resource "random_password" "jitsi" {
  for_each = toset(local.secret_keys)
  length   = 32
  special  = false
}

resource "aws_secretsmanager_secret" "jitsi" {
  name                    = local.names.secret
  description             = "Jitsi XMPP passwords and component secrets (JSON, one key per variable)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "jitsi" {
  secret_id     = aws_secretsmanager_secret.jitsi.id
  secret_string = jsonencode({ for k in local.secret_keys : k => random_password.jitsi[k].result })

  # The first value only: afterwards the rotation Lambda owns it (AWSCURRENT moves to each new
  # version); a plan must not put the initial passwords back.
  lifecycle {
    ignore_changes = [secret_string, version_stages]
  }
}

resource "aws_secretsmanager_secret" "operator" {
  count                   = length(local.operator_secret_keys) > 0 ? 1 : 0
  name                    = "${local.names.secret}-operator"
  description             = "Operator-supplied Jitsi secrets (TURN shared secret, JWT signing secret)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "operator" {
  count         = length(local.operator_secret_keys) > 0 ? 1 : 0
  secret_id     = aws_secretsmanager_secret.operator[0].id
  secret_string = jsonencode(local.operator_values)
}
