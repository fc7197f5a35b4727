# The recording bucket: encrypted by default (SSE-KMS with the stack's key, or SSE-S3), versioned,
# never public, TLS only, refusing puts that ask for another encryption, and cleaned up by lifecycle
# rules (incomplete multipart uploads, noncurrent versions, optional colder class).

resource "aws_s3_bucket" "recordings" {
  count  = local.create_bucket ? 1 : 0
  bucket = local.bucket_name
}

resource "aws_s3_bucket_ownership_controls" "recordings" {
  count  = local.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.recordings[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "recordings" {
  count                   = local.create_bucket ? 1 : 0
  bucket                  = aws_s3_bucket.recordings[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "recordings" {
  count  = local.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.recordings[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "recordings" {
  count  = local.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.recordings[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.recording_sse
      kms_master_key_id = local.bucket_kms ? aws_kms_key.main.arn : null
    }
    bucket_key_enabled = local.bucket_kms
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "recordings" {
  count  = local.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.recordings[0].id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  dynamic "rule" {
    for_each = var.transition_days == null ? [] : [var.transition_days]
    content {
      id     = "transition-recordings"
      status = "Enabled"
      filter {
        prefix = "${var.recording_prefix}/"
      }
      transition {
        days          = rule.value
        storage_class = var.transition_storage_class
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.recordings]
}

resource "aws_s3_bucket_policy" "recordings" {
  count  = local.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.recordings[0].id
  policy = jsonencode(local.bucket_policy)

  depends_on = [aws_s3_bucket_public_access_block.recordings]
}

locals {
  bucket_policy = !local.create_bucket ? null : {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.recordings[0].arn, "${aws_s3_bucket.recordings[0].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        # A put that asks for another encryption than the bucket's is refused; a put without the
        # header gets the default encryption above. (A Null condition would also refuse UploadPart,
        # which never carries the header, and break every multipart upload.)
        Sid       = "DenyOtherEncryption"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.recordings[0].arn}/*"
        Condition = { StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption" = var.recording_sse } }
      },
      ], local.bucket_kms ? [{
        Sid       = "DenyOtherKMSKey"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.recordings[0].arn}/*"
        Condition = { StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = aws_kms_key.main.arn } }
    }] : [])
  }
}
