# The peer benchmark (filled in by the benchmark work).
.PHONY: bench
bench: bench-upload
