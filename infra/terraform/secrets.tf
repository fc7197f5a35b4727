# One secret (JSON) with every XMPP password of the stack. ECS injects single keys into the
# containers (`secrets` with valueFrom "<arn>:<KEY>::"); outside ECS, `finalize secrets` fetches it.
# Rotation: see README.md (taint the random_password, apply, redeploy prosody first).

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
}

resource "random_password" "jitsi" {
  for_each = toset(local.secret_keys)
  length   = 32
  special  = false
}

resource "aws_secretsmanager_secret" "jitsi" {
  name_prefix             = "${local.prefix}-xmpp-"
  description             = "Jitsi XMPP passwords and component secrets (JSON, one key per variable)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "jitsi" {
  secret_id     = aws_secretsmanager_secret.jitsi.id
  secret_string = jsonencode({ for k in local.secret_keys : k => random_password.jitsi[k].result })
}
