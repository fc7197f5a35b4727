terraform {
  # tofu test with mock_provider needs OpenTofu 1.8 or newer; the stack is checked with 1.12.
  required_version = ">= 1.8.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.25 is what the offline check's schema comes from; 5.100 is what some CI images carry
      # as a real build (infra/ci/check.sh validates and tests with both).
      version = ">= 5.100, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}
