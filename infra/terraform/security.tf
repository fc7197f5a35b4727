# Security groups. Public: 443 and 80 on the load balancer, UDP 10000 on the JVB hosts; nothing else.
# Internal: ALB -> web 8000; JVB and Jibri -> prosody 5222; Jibri -> JVB UDP 10000.
# TCP 4443 is not opened: JVB has had no TCP harvester since stable-7001 (nothing listens there);
# clients whose network blocks UDP need a TURN server (variable turn_host), see README.md.

resource "aws_security_group" "alb" {
  name_prefix = "${local.prefix}-alb-"
  description = "Jitsi load balancer: HTTPS and HTTP from the internet"
  vpc_id      = local.vpc_id
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "core_task" {
  name_prefix = "${local.prefix}-core-"
  description = "web + prosody + jicofo task"
  vpc_id      = local.vpc_id
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "jibri" {
  name_prefix = "${local.prefix}-jibri-"
  description = "Jibri + recwatch tasks"
  vpc_id      = local.vpc_id
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "jvb" {
  name_prefix = "${local.prefix}-jvb-"
  description = "JVB hosts (host network mode): media from the internet"
  vpc_id      = local.vpc_id
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "efs" {
  count       = var.enable_recording ? 1 : 0
  name_prefix = "${local.prefix}-efs-"
  description = "recordings file system: NFS from the Jibri tasks"
  vpc_id      = local.vpc_id
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "core_host" {
  name_prefix = "${local.prefix}-host-"
  description = "private container hosts (the tasks have their own groups)"
  vpc_id      = local.vpc_id
  lifecycle {
    create_before_destroy = true
  }
}

locals {
  public_ingress = {
    alb_https = { sg = "alb", port = 443, protocol = "tcp", description = "HTTPS from browsers" }
    alb_http  = { sg = "alb", port = 80, protocol = "tcp", description = "HTTP, redirected to HTTPS" }
    jvb_media = { sg = "jvb", port = 10000, protocol = "udp", description = "JVB media (ICE/SRTP) from browsers" }
  }
  sg_ids = {
    alb       = aws_security_group.alb.id
    core_task = aws_security_group.core_task.id
    jibri     = aws_security_group.jibri.id
    jvb       = aws_security_group.jvb.id
    core_host = aws_security_group.core_host.id
    efs       = try(aws_security_group.efs[0].id, null)
  }
  # from -> to on port: each pair makes the egress rule on "from" and the ingress rule on "to".
  internal_flows = merge({
    alb_web  = { from = "alb", to = "core_task", port = 8000, protocol = "tcp", description = "ALB to web" }
    jvb_xmpp = { from = "jvb", to = "core_task", port = 5222, protocol = "tcp", description = "JVB to prosody (XMPP)" }
    }, var.enable_recording ? {
    jibri_xmpp  = { from = "jibri", to = "core_task", port = 5222, protocol = "tcp", description = "Jibri to prosody (XMPP)" }
    jibri_media = { from = "jibri", to = "jvb", port = 10000, protocol = "udp", description = "Jibri to JVB media" }
    # awsvpc tasks mount EFS from the task's network namespace (its ENI and security group).
    jibri_nfs = { from = "jibri", to = "efs", port = 2049, protocol = "tcp", description = "Jibri and recwatch to the recordings file system (NFS over TLS)" }
  } : {})
  # Outbound to the internet, by necessity.
  public_egress = merge({
    jvb_media  = { sg = "jvb", from_port = 1024, to_port = 65535, protocol = "udp", description = "JVB media to browsers (their ports are arbitrary) and STUN" }
    jvb_https  = { sg = "jvb", from_port = 443, to_port = 443, protocol = "tcp", description = "JVB host: ECS agent, image pulls" }
    jvb_stun   = { sg = "jvb", from_port = 443, to_port = 443, protocol = "udp", description = "JVB: STUN on 443 (default STUN server)" }
    host_https = { sg = "core_host", from_port = 443, to_port = 443, protocol = "tcp", description = "ECS agent, image pulls, Secrets Manager" }
    }, var.enable_recording ? {
    jibri_https = { sg = "jibri", from_port = 443, to_port = 443, protocol = "tcp", description = "Jibri: the meeting page (PUBLIC_URL via the ALB), S3, ECS" }
  } : {})
}

# tfsec:ignore:aws-vpc-no-public-ingress-sgr public by design: HTTPS/HTTP on the ALB and UDP 10000 media on JVB are the entry points
resource "aws_security_group_rule" "public_ingress" {
  for_each          = local.public_ingress
  type              = "ingress"
  security_group_id = local.sg_ids[each.value.sg]
  from_port         = each.value.port
  to_port           = each.value.port
  protocol          = each.value.protocol
  cidr_blocks       = ["0.0.0.0/0"]
  description       = each.value.description
}

resource "aws_security_group_rule" "internal_egress" {
  for_each                 = local.internal_flows
  type                     = "egress"
  security_group_id        = local.sg_ids[each.value.from]
  source_security_group_id = local.sg_ids[each.value.to]
  from_port                = each.value.port
  to_port                  = each.value.port
  protocol                 = each.value.protocol
  description              = each.value.description
}

resource "aws_security_group_rule" "internal_ingress" {
  for_each                 = local.internal_flows
  type                     = "ingress"
  security_group_id        = local.sg_ids[each.value.to]
  source_security_group_id = local.sg_ids[each.value.from]
  from_port                = each.value.port
  to_port                  = each.value.port
  protocol                 = each.value.protocol
  description              = each.value.description
}

# tfsec:ignore:aws-vpc-no-public-egress-sgr media goes to browsers anywhere; image pulls, STUN and AWS APIs need the internet
resource "aws_security_group_rule" "public_egress" {
  for_each          = local.public_egress
  type              = "egress"
  security_group_id = local.sg_ids[each.value.sg]
  from_port         = each.value.from_port
  to_port           = each.value.to_port
  protocol          = each.value.protocol
  cidr_blocks       = ["0.0.0.0/0"]
  description       = each.value.description
}
