# jibri-s3: lossless Jibri finalize uploader.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/jitsi-recorder/jibri-s3/internal/version.Version=$(VERSION)
TOOLS := $(CURDIR)/.tools/bin
# MinIO release tags are not semver; this is the pseudo-version we test with.
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
MINIO := $(TOOLS)/minio
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(TOOLS)/staticcheck
export JIBRI_S3_REQUIRE_MINIO := 1
# Tests that make recordings with Debian's ffmpeg (internal/mediatest) fail without it.
export JIBRI_S3_REQUIRE_FFMPEG := 1
# The playback test (internal/chromiumtest) fails without Debian's chromium and chromium-driver.
export JIBRI_S3_REQUIRE_CHROMIUM := 1
export MINIO_BIN := $(MINIO)

.PHONY: all build test check vet staticcheck fmt tidy tools demo bench-upload fuzz faults clean media-long playback

# Infrastructure checks (infra-check), operator-file checks (ops-check) and the peer benchmark
# (bench) live in their own files.
include mk/*.mk

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

## tools: build MinIO (the real S3 of the integration tests) and staticcheck into .tools/bin once
tools: $(MINIO) $(STATICCHECK)

$(MINIO):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) GOFLAGS=-mod=mod $(GO) install github.com/minio/minio@$(MINIO_VERSION)

## demo: finalize a sample recording against an embedded S3 (no AWS account)
demo:
	$(GO) run ./cmd/finalize demo --dir demo-data

## test: everything CI runs (checks, race-enabled tests incl. MinIO integration and the fault suite,
## then the offline infrastructure checks from mk/infra.mk and the operator-file checks from mk/ops.mk)
test: tools check
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) infra-check
	$(MAKE) ops-check

## check: vet, staticcheck, gofmt, go mod tidy diff
check: vet staticcheck fmt tidy

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

$(STATICCHECK):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

vet:
	$(GO) vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

tidy:
	@cp go.mod /tmp/go.mod.bak && cp go.sum /tmp/go.sum.bak; \
	$(GO) mod tidy; \
	if ! diff -q go.mod /tmp/go.mod.bak >/dev/null || ! diff -q go.sum /tmp/go.sum.bak >/dev/null; then \
		cp /tmp/go.mod.bak go.mod; cp /tmp/go.sum.bak go.sum; echo "go.mod/go.sum not tidy: run go mod tidy"; exit 1; fi

## fuzz: run every fuzz target for a short while
fuzz:
	$(GO) test -run XXX -fuzz FuzzParseMetadata -fuzztime 30s ./internal/jibri
	$(GO) test -run XXX -fuzz FuzzRender -fuzztime 30s ./internal/keytmpl
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime 30s ./internal/manifest
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime 30s ./internal/recdir
	$(GO) test -run XXX -fuzz FuzzFitMetadata -fuzztime 30s ./internal/upload
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./internal/jibristatus
	$(GO) test -run XXX -fuzz '^FuzzInspect$$' -fuzztime 30s ./internal/mp4
	$(GO) test -run XXX -fuzz '^FuzzFaststart$$' -fuzztime 30s ./internal/mp4
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime 30s ./internal/event
	$(GO) test -run XXX -fuzz FuzzCheck -fuzztime 30s ./internal/jsondoc
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./internal/jvbstats
	$(GO) test -run XXX -fuzz FuzzParseList -fuzztime 30s ./internal/rotation
	$(GO) test -run XXX -fuzz FuzzParseSecret -fuzztime 30s ./internal/rotation

## media-long: an hour of recording per MP4 variant, made with ffmpeg on the fly (cached in .cache/media)
## and checked against ffprobe; about a minute of CPU per file, so not part of make test
media-long:
	JIBRI_S3_LONG_MEDIA=1 JIBRI_S3_MEDIA_CACHE=$(CURDIR)/.cache/media $(GO) test -count=1 -timeout 30m -run TestHourLong -v ./internal/mp4

## playback: the headless-Chromium playback test alone (also part of make test); prints the bytes fetched
## before loadedmetadata for the faststart object and the original layout, writes bench/out/playback.md
playback: tools
	mkdir -p bench/out
	PLAYBACK_REPORT=$(CURDIR)/bench/out/playback.md $(GO) test -count=1 -run TestPlayback -v ./internal/chromiumtest

## faults: the fault-injection suite alone (also part of make test); prints the table, writes bench/out/faults.md
faults: tools
	mkdir -p bench/out
	FAULTS_REPORT=$(CURDIR)/bench/out/faults.md $(GO) test -count=1 -timeout 20m -run TestFaultSuite -v ./internal/faults | grep -v '^=== RUN'

## bench-upload: finalize vs a bare manager.Uploader (same transport, part size, concurrency), 2 GiB, on the
## null S3 endpoint and on MinIO over HTTPS; throughput, CPU, peak RSS and ratios in bench/out/upload/report.md
bench-upload: tools
	$(GO) run ./bench/peerbench -tools finalize,bare -sizes 2048 -batch "" -runs 3 -startup-runs 0 -out bench/out/upload

clean:
	rm -rf bin demo-data
