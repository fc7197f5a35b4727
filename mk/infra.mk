# Offline checks of docker/ and infra/terraform: shellcheck, the Dockerfile test, tofu fmt,
# init/validate/test against schema-only providers, tflint and tfsec; then terraform validate/test
# with a real hashicorp/aws build where one is present (else it says skipped). The tools are built
# once and cached by version under ${XDG_CACHE_HOME:-~/.cache}/jibri-s3 (see infra/ci/check.sh).
.PHONY: infra-check
infra-check:
	infra/ci/check.sh
