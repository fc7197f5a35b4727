# Offline checks of docker/ and infra/terraform (filled in by the infra work).
.PHONY: infra-check
infra-check:
	@echo "infra-check: nothing to check yet"
