#!/usr/bin/env bash
# Builds the three images from the repository root with the version stamped in:
#   docker/jibri/build.sh [REGISTRY_PREFIX]   e.g. docker/jibri/build.sh 123456789012.dkr.ecr.eu-west-1.amazonaws.com/
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prefix=${1:-}
version=$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)
jitsi_tag=${JITSI_TAG:-stable-11146-2}

docker build -f "$root/docker/jibri/Dockerfile" \
	--build-arg VERSION="$version" --build-arg JITSI_TAG="$jitsi_tag" \
	-t "${prefix}jibri-s3:${jitsi_tag}" -t "${prefix}jibri-s3:${version}" "$root"
docker build -f "$root/docker/jibri/Dockerfile.recwatch" \
	--build-arg VERSION="$version" \
	-t "${prefix}recwatch:${jitsi_tag}" -t "${prefix}recwatch:${version}" "$root"
docker build -f "$root/docker/jibri/Dockerfile.confwatch" \
	--build-arg VERSION="$version" \
	-t "${prefix}confwatch:${jitsi_tag}" -t "${prefix}confwatch:${version}" "$root"
echo "built ${prefix}jibri-s3:${jitsi_tag}, ${prefix}recwatch:${jitsi_tag} and ${prefix}confwatch:${jitsi_tag} (also tagged ${version})"
