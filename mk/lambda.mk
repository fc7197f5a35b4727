# The secret-rotation Lambda (cmd/rotate-secret): runtime provided.al2023, arm64, handler bootstrap.
# The zip is written by tools/lambdazip (no zip binary needed); dist/ is git-ignored.
.PHONY: lambda
LAMBDA_ZIP := dist/rotate-secret.zip

## lambda: build dist/rotate-secret.zip (one executable, bootstrap, linux/arm64) for the rotation Lambda
lambda:
	mkdir -p dist/rotate-secret
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc -ldflags '$(LDFLAGS)' -o dist/rotate-secret/bootstrap ./cmd/rotate-secret
	$(GO) run ./tools/lambdazip -o $(LAMBDA_ZIP) dist/rotate-secret/bootstrap
	@ls -l $(LAMBDA_ZIP) dist/rotate-secret/bootstrap

# make fuzz also runs the rotation function's parsers (the Makefile's fuzz recipe runs after these).
.PHONY: fuzz-rotation
fuzz: fuzz-rotation
fuzz-rotation:
	$(GO) test -run XXX -fuzz FuzzParseSecret -fuzztime 30s ./internal/rotation
	$(GO) test -run XXX -fuzz FuzzParseList -fuzztime 30s ./internal/rotation
