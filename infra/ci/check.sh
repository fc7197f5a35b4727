#!/usr/bin/env bash
# Offline checks of docker/ and infra/terraform, run by `make infra-check` (and so by `make test`).
#
# Installs what it needs (shellcheck and npm from apt when missing; OpenTofu, tflint and tfsec
# built from the Go module proxy; the cdktf provider packages from npm), caches every tool outside
# the clone under $JIBRI_S3_CACHE keyed by version, so a warm run takes seconds.
#
# Then: shellcheck, the Dockerfile test, tofu fmt -check, tofu init -backend=false, tofu validate
# and tofu test against a schema-only provider served from a filesystem mirror (no registry, no
# network), tflint (recommended preset) and tfsec (no HIGH or CRITICAL finding). Where a terraform
# binary and real hashicorp/aws and hashicorp/random provider builds are present (a local plugin
# directory, as some CI images carry), terraform validate and terraform test run with them too;
# otherwise the step says it was skipped.
set -euo pipefail

TOFU_VERSION=v1.12.6
TFLINT_VERSION=v0.64.0
TFSEC_VERSION=v1.26.0
# npm packages and the provider versions they were generated from.
AWS_NPM=21.22.1
AWS_PROVIDER=6.25.0
RANDOM_NPM=12.0.1
RANDOM_PROVIDER=3.7.2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${JIBRI_S3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jibri-s3}
TF_DIR=$ROOT/infra/terraform
mkdir -p "$CACHE/bin"
start=$SECONDS

step() { printf '\n== %s  [%ss]\n' "$*" "$((SECONDS - start))"; }
elapsed() { printf '   (%ss)\n' "$((SECONDS - $1))"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
	local missing=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing with apt-get: ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# go_tool NAME VERSION BUILD...: runs BUILD once per version, which must leave $out.
go_tool() {
	local name=$1 version=$2
	shift 2
	out=$CACHE/bin/$name-$version
	if [ ! -x "$out" ]; then
		local t=$SECONDS
		echo "building $name $version (once; cached in $CACHE/bin)"
		"$@"
		elapsed "$t"
	fi
}

build_tofu() {
	local dir
	dir=$(cd "$CACHE" && go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || { echo "cannot download opentofu $TOFU_VERSION" >&2; return 1; }
	# tofu has replace directives: build it as the main module from a copy of its module dir.
	rm -rf "$CACHE/src/opentofu-$TOFU_VERSION"
	mkdir -p "$CACHE/src"
	cp -r "$dir" "$CACHE/src/opentofu-$TOFU_VERSION"
	chmod -R u+w "$CACHE/src/opentofu-$TOFU_VERSION"
	(cd "$CACHE/src/opentofu-$TOFU_VERSION" && go build -trimpath -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$out.tmp" ./cmd/tofu)
	mv "$out.tmp" "$out"
	rm -rf "$CACHE/src/opentofu-$TOFU_VERSION"
}

go_install() { # module@version binary
	local gobin=$CACHE/gobin-$2-$$
	GOBIN=$gobin go install -trimpath "$1"
	mv "$gobin/$2" "$out"
	rmdir "$gobin"
}

npm_package() { # name version -> prints the unpacked package dir
	local dir=$CACHE/npm/${1//[@\/]/_}-$2
	if [ ! -f "$dir/package/package.json" ]; then
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
		(cd "$dir.tmp" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
		rm -rf "$dir" && mv "$dir.tmp" "$dir"
	fi
	echo "$dir/package"
}

step "tools"
apt_install shellcheck:shellcheck npm:npm
go_tool tofu "$TOFU_VERSION" build_tofu
TOFU=$out
go_tool tflint "$TFLINT_VERSION" go_install "github.com/terraform-linters/tflint@$TFLINT_VERSION" tflint
TFLINT=$out
go_tool tfsec "$TFSEC_VERSION" go_install "github.com/aquasecurity/tfsec/cmd/tfsec@$TFSEC_VERSION" tfsec
TFSEC=$out

# The schema tool and the schemas are keyed by the tool's source and the npm versions.
tool_src=$ROOT/infra/tools/tfschema
tool_key=$(cat "$tool_src"/go.mod "$tool_src"/go.sum "$tool_src"/*.go | sha256sum | cut -c1-16)
go_tool tfschema "$tool_key" sh -c "cd '$tool_src' && go build -trimpath -o '$CACHE/bin/tfschema-$tool_key' ."
TFSCHEMA=$out

MIRROR=$CACHE/mirror-$tool_key
if [ ! -d "$MIRROR" ]; then
	t=$SECONDS
	echo "generating provider schemas from @cdktf/provider-aws@$AWS_NPM and @cdktf/provider-random@$RANDOM_NPM"
	rm -rf "$MIRROR.tmp"
	for spec in "aws $AWS_NPM $AWS_PROVIDER" "random $RANDOM_NPM $RANDOM_PROVIDER"; do
		read -r name npmv provv <<<"$spec"
		pkg=$(npm_package "@cdktf/provider-$name" "$npmv")
		dir=$MIRROR.tmp/registry.opentofu.org/hashicorp/$name/$provv/linux_amd64
		mkdir -p "$dir"
		"$TFSCHEMA" gen "$pkg" "$dir/schema.json"
		"$TFSCHEMA" check "$dir/schema.json" | sed "s/^/   $name $provv: /"
		final=$MIRROR/registry.opentofu.org/hashicorp/$name/$provv/linux_amd64
		printf '#!/bin/sh\nexec "%s" serve registry.opentofu.org/hashicorp/%s "%s/schema.json"\n' \
			"$TFSCHEMA" "$name" "$final" >"$dir/terraform-provider-${name}_v$provv"
		chmod +x "$dir/terraform-provider-${name}_v$provv"
	done
	mv "$MIRROR.tmp" "$MIRROR"
	elapsed "$t"
fi

step "shellcheck"
shellcheck "$ROOT"/infra/ci/*.sh "$ROOT"/docker/jibri/*.sh "$ROOT"/docker/jibri/rootfs/etc/cont-init.d/* "$ROOT"/docker/opscheck/*.sh
echo "ok"

step "Dockerfiles"
(cd "$ROOT/docker/jibri/dockerfiletest" && go test -count=1 ./...)

# init, validate and test run in a scratch copy: the lock file made against the stub provider and
# .terraform/ never land in the clone.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$TF_DIR/." "$work/"
rm -rf "$work/.terraform" "$work/.terraform.lock.hcl"
cat >"$work/.tofurc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.opentofu.org/hashicorp/*"]
  }
}
CFG
export TF_CLI_CONFIG_FILE=$work/.tofurc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0

step "tofu fmt"
"$TOFU" fmt -check -recursive -diff "$TF_DIR"
echo "ok"

step "tofu init (offline, schema-only providers)"
"$TOFU" -chdir="$work" init -backend=false -no-color >"$work/init.log" || { cat "$work/init.log"; exit 1; }
grep -E '^- Installed|^- Installing' "$work/init.log" || true

step "tofu validate"
"$TOFU" -chdir="$work" validate -no-color

step "tofu test"
"$TOFU" -chdir="$work" test -no-color

step "tflint $TFLINT_VERSION (recommended preset)"
"$TFLINT" --chdir="$TF_DIR" --format=compact
echo "ok"

step "tfsec $TFSEC_VERSION"
# Every result for the record (suppressions included: each has its reason next to the resource);
# any HIGH or CRITICAL finding fails the check.
"$TFSEC" "$TF_DIR" --no-color --concise-output --soft-fail --include-ignored --exclude-downloaded-modules |
	grep -E '^Results? #|^ +ID |^  - [a-z]+\.tf|passed, ' || true
"$TFSEC" "$TF_DIR" --no-color --concise-output --minimum-severity HIGH --exclude-downloaded-modules >"$work/tfsec.log" 2>&1 ||
	{ cat "$work/tfsec.log"; exit 1; }
echo "no HIGH or CRITICAL finding"

# real_plugin_dir: the first plugin directory holding a real hashicorp/aws build for this platform
# (terraform's local mirror layout: HOSTNAME/NAMESPACE/TYPE/VERSION/OS_ARCH/).
real_plugin_dir() {
	local dir
	for dir in ${TF_PLUGIN_DIR:-} /opt/tf-plugins "$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins" \
		/usr/local/share/terraform/plugins /usr/share/terraform/plugins; do
		if compgen -G "$dir/registry.terraform.io/hashicorp/aws/*/$platform/terraform-provider-aws*" >/dev/null; then
			echo "$dir"
			return 0
		fi
	done
	return 1
}

step "terraform with a real hashicorp/aws provider build"
case "$(uname -m)" in
x86_64) platform=linux_amd64 ;;
aarch64 | arm64) platform=linux_arm64 ;;
*) platform=unknown ;;
esac
if ! command -v terraform >/dev/null 2>&1; then
	echo "skipped: no terraform binary on PATH"
elif ! plugins=$(real_plugin_dir); then
	echo "skipped: no real hashicorp/aws build for $platform in a local plugin directory (TF_PLUGIN_DIR, /opt/tf-plugins, ~/.terraform.d/plugins, /usr/share/terraform/plugins, ...)"
else
	t=$SECONDS
	real=$work/real
	mkdir -p "$real/plugins"
	cp -r "$TF_DIR/." "$real/config/"
	rm -rf "$real/config/.terraform" "$real/config/.terraform.lock.hcl"
	# The real aws build(s), linked file by file (terraform does not follow linked directories).
	for bin in "$plugins"/registry.terraform.io/hashicorp/aws/*/"$platform"/terraform-provider-aws*; do
		d=$real/plugins/${bin#"$plugins"/}
		mkdir -p "$(dirname "$d")"
		ln -s "$bin" "$d"
	done
	if compgen -G "$plugins/registry.terraform.io/hashicorp/random/*/$platform/terraform-provider-random*" >/dev/null; then
		for bin in "$plugins"/registry.terraform.io/hashicorp/random/*/"$platform"/terraform-provider-random*; do
			d=$real/plugins/${bin#"$plugins"/}
			mkdir -p "$(dirname "$d")"
			ln -s "$bin" "$d"
		done
		random_note="real"
	else
		# No real random build: its schema-only provider (random only feeds passwords to the mocks).
		d=$real/plugins/registry.terraform.io/hashicorp/random/$RANDOM_PROVIDER/$platform
		mkdir -p "$d"
		printf '#!/bin/sh\nexec "%s" serve registry.terraform.io/hashicorp/random "%s"\n' \
			"$TFSCHEMA" "$MIRROR/registry.opentofu.org/hashicorp/random/$RANDOM_PROVIDER/linux_amd64/schema.json" \
			>"$d/terraform-provider-random_v$RANDOM_PROVIDER"
		chmod +x "$d/terraform-provider-random_v$RANDOM_PROVIDER"
		random_note="schema-only (no real build found)"
	fi
	echo "$(terraform version | head -1); aws from $plugins; random: $random_note"
	(
		export TF_CLI_CONFIG_FILE=/dev/null
		cd "$real/config"
		terraform init -backend=false -input=false -no-color -plugin-dir="$real/plugins" >init.log || { cat init.log; exit 1; }
		grep -E '^- Installed' init.log || true
		terraform validate -no-color
		terraform test -no-color
	)
	elapsed "$t"
fi

printf '\ninfra-check: ok (%ss)\n' "$((SECONDS - start))"
