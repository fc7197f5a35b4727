#!/usr/bin/env bash
# Offline checks of docker/compose and docker/monitoring, run by `make ops-check` (and so by
# `make test`). Installs what it needs: docker-compose from apt when missing, promtool built once
# from the Go module proxy and cached by version under $JIBRI_S3_CACHE (as infra/ci/check.sh does
# for its tools).
#
# Then: promtool check rules / test rules / check config on docker/monitoring, and the Go tests of
# docker/opscheck (compose merges asserted, rule and dashboard expressions parsed and their series
# checked against recwatch's registry), with JIBRI_S3_REQUIRE_OPS=1 so a missing tool fails them.
set -euo pipefail

PROMTOOL_VERSION=v0.316.0

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${JIBRI_S3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jibri-s3}
MON=$ROOT/docker/monitoring
mkdir -p "$CACHE/bin"
start=$SECONDS

step() { printf '\n== %s  [%ss]\n' "$*" "$((SECONDS - start))"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

step "tools"
if ! command -v docker-compose >/dev/null 2>&1; then
	echo "installing docker-compose with apt-get"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi
docker-compose version --short
PROMTOOL=$CACHE/bin/promtool-$PROMTOOL_VERSION
if [ ! -x "$PROMTOOL" ]; then
	t=$SECONDS
	echo "building promtool $PROMTOOL_VERSION (once; cached in $CACHE/bin)"
	gobin=$CACHE/gobin-promtool-$$
	GOBIN=$gobin go install -trimpath "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
	mv "$gobin/promtool" "$PROMTOOL"
	rmdir "$gobin"
	printf '   (%ss)\n' "$((SECONDS - t))"
fi
"$PROMTOOL" --version | head -1

step "promtool check rules"
"$PROMTOOL" check rules "$MON/jibri-s3.rules.yml"

step "promtool test rules"
(cd "$MON" && "$PROMTOOL" test rules jibri-s3.rules.test.yml)

step "promtool check config"
"$PROMTOOL" check config "$MON/prometheus.yml"

step "docker/opscheck (compose merges, rules and dashboard against recwatch's series)"
(cd "$ROOT/docker/opscheck" &&
	go vet ./... &&
	JIBRI_S3_REQUIRE_OPS=1 DOCKER_COMPOSE=$(command -v docker-compose) go test -count=1 ./...)

printf '\nops-check: ok (%ss)\n' "$((SECONDS - start))"
