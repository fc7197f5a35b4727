#!/usr/bin/env bash
# Builds the S3-compatible servers of the compatibility matrix (docs/compat.md) once per version,
# cached outside the clone under $JIBRI_S3_CACHE/bin like the infra tools (infra/ci/check.sh), and
# prints NAME=PATH for each one asked for. Usage: build-servers.sh [--path] versitygw|seaweedfs...
# With --path it only prints the path each binary has (or will have), building nothing.
#
# versitygw installs with go install. SeaweedFS has replace directives in its go.mod, so go install
# refuses it: it is built as the main module from a copy of its module zip, as OpenTofu is.
# The builds run under nice: they take minutes and the machine may be shared.
set -euo pipefail

VERSITYGW_VERSION=${VERSITYGW_VERSION:-v1.8.0}
# SeaweedFS tags are not semver module versions; this pseudo-version is its 4.53 release commit.
SEAWEEDFS_VERSION=${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}

CACHE=${JIBRI_S3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jibri-s3}
mkdir -p "$CACHE/bin"

build_versitygw() {
	local gobin=$CACHE/gobin-versitygw-$$
	GOBIN=$gobin GOFLAGS=-mod=mod nice -n 10 go install -trimpath "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
	mv "$gobin/versitygw" "$1"
	rmdir "$gobin"
}

build_seaweedfs() {
	local dir src=$CACHE/src/seaweedfs-$SEAWEEDFS_VERSION
	dir=$(cd "$CACHE" && go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || { echo "cannot download seaweedfs $SEAWEEDFS_VERSION" >&2; return 1; }
	rm -rf "$src" && mkdir -p "$CACHE/src"
	cp -r "$dir" "$src" && chmod -R u+w "$src"
	(cd "$src" && nice -n 10 go build -trimpath -o "$1" ./weed)
	rm -rf "$src"
}

path_only=
if [ "${1:-}" = --path ]; then
	path_only=1
	shift
fi

for name in "$@"; do
	case $name in
	versitygw) version=$VERSITYGW_VERSION bin=versitygw ;;
	seaweedfs) version=$SEAWEEDFS_VERSION bin=weed ;;
	*) echo "unknown server $name" >&2; exit 2 ;;
	esac
	out=$CACHE/bin/$bin-$version
	if [ -n "$path_only" ]; then
		echo "$out"
		continue
	fi
	if [ ! -x "$out" ]; then
		t=$SECONDS
		echo "building $name $version (once; cached in $CACHE/bin)" >&2
		"build_$name" "$out.tmp"
		mv "$out.tmp" "$out"
		echo "built $name in $((SECONDS - t))s" >&2
	fi
	echo "$name=$out"
done
