# The peer benchmark: finalize vs the aws CLI v2, rclone and mc, on MinIO
# over HTTPS with SSE and on the null S3 endpoint. Not part of CI.
# Peers are installed once into .tools/bench (ignored); the aws CLI comes
# from apt. The report and chart are written to bench/report/.
BENCH_TOOLS := $(CURDIR)/.tools/bench/bin
RCLONE_VERSION ?= v1.76.0
# mc's release tags are not semver; this is the pseudo-version of @latest we tested.
MC_VERSION ?= v0.0.0-20250313080218-cf909e1063a9
BENCH_ARGS ?= -sizes 256,2048,8192 -batch 10x200 -runs 3
BENCH_REPORT := bench/report

.PHONY: bench bench-peers

## bench: peer benchmark (needs root for apt-get awscli); writes bench/report/{report.md,chart.png}
bench: tools bench-peers
	$(GO) run ./bench/peerbench -out $(BENCH_REPORT) -minio-bin $(MINIO) \
		-rclone $(BENCH_TOOLS)/rclone -mc $(BENCH_TOOLS)/mc -aws /usr/bin/aws $(BENCH_ARGS)
	cd bench/chart && $(GO) run . -in ../report/chart.json -out ../report/chart.png

## bench-peers: install the pinned peers once
bench-peers: $(BENCH_TOOLS)/rclone $(BENCH_TOOLS)/mc /usr/bin/aws

$(BENCH_TOOLS)/rclone:
	mkdir -p $(BENCH_TOOLS)
	GOBIN=$(BENCH_TOOLS) GOFLAGS=-mod=mod $(GO) install github.com/rclone/rclone@$(RCLONE_VERSION)

$(BENCH_TOOLS)/mc:
	mkdir -p $(BENCH_TOOLS)
	GOBIN=$(BENCH_TOOLS) GOFLAGS=-mod=mod $(GO) install github.com/minio/mc@$(MC_VERSION)

# The aws CLI v2 as Debian packages it (bookworm: 2.9.19).
/usr/bin/aws:
	command -v apt-get >/dev/null || { echo "bench: no apt-get; install the aws CLI v2 at /usr/bin/aws"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli time

## bench-handoff: the hook's hold time, time to committed and parts sent twice, with and without
## a watcher, for 100 MiB, 1 GiB and 4 GiB through a 5 MB/s-per-connection throttle to MinIO
## (about 10 minutes); writes bench/out/handoff.md
.PHONY: bench-handoff
bench-handoff: tools
	mkdir -p bench/out
	HANDOFF_REPORT=$(CURDIR)/bench/out/handoff.md $(GO) test -run XXX -bench BenchmarkHandOff -benchtime 1x -timeout 3h ./internal/faults

## bench-faststart: finalize with and without --faststart on the null endpoint, for a 2 GiB and a
## one-hour real MP4 made with Jibri's ffmpeg settings (cached in .cache/bench, about 3 GB);
## throughput, CPU, peak RSS and their ratios in bench/out/faststart/report.md (docs/faststart.md, Cost)
.PHONY: bench-faststart
bench-faststart:
	$(GO) run ./bench/peerbench -media jibri -tools finalize,finalize-nofaststart -sizes 2048 -lengths 1h \
		-batch "" -targets null -runs 3 -startup-runs 0 -out bench/out/faststart
