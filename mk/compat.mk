# The S3 compatibility matrix (docs/compat.md) and the S3-compatible servers it runs. The servers are
# built once per version and cached under ${XDG_CACHE_HOME:-~/.cache}/jibri-s3/bin, like the infra
# tools (tools/compat/build-servers.sh owns the versions and the paths).
#
# versitygw builds in about 3 minutes cold here (8 on a busy CI machine), so `make test` builds it
# and requires it: the round trip of internal/compat runs against it in every CI run. SeaweedFS takes
# about 17 minutes cold, which would put a cold CI run near an hour: it runs in `make compat` only.
COMPAT_BUILD := tools/compat/build-servers.sh
VERSITYGW := $(shell $(COMPAT_BUILD) --path versitygw)
SEAWEEDFS := $(shell $(COMPAT_BUILD) --path seaweedfs)
export VERSITYGW_BIN := $(VERSITYGW)
export SEAWEEDFS_BIN := $(SEAWEEDFS)
export JIBRI_S3_REQUIRE_VERSITYGW := 1

.PHONY: compat-servers

test: $(VERSITYGW)

$(VERSITYGW):
	$(COMPAT_BUILD) versitygw

$(SEAWEEDFS):
	$(COMPAT_BUILD) seaweedfs

## compat-servers: build versitygw and SeaweedFS (cached by version)
compat-servers: $(VERSITYGW) $(SEAWEEDFS)

.PHONY: compat
## compat: probe and round-trip every store (MinIO, versitygw, SeaweedFS, gofakes3); writes docs/compat.md
compat: tools $(VERSITYGW) $(SEAWEEDFS)
	COMPAT_OUT=$(CURDIR)/docs/compat.md JIBRI_S3_REQUIRE_SEAWEEDFS=1 $(GO) test -count=1 -timeout 30m -run TestMatrix -v ./internal/compat
