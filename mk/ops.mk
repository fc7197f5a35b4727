# Offline checks of the operator files: docker/compose (merged onto docker-jitsi-meet's compose
# files with docker-compose config, and asserted) and docker/monitoring (promtool check/test rules,
# check config; the Grafana dashboard's and rules' expressions parsed and their series checked
# against recwatch's registry). Installs docker-compose from apt when missing and builds promtool
# once into ${XDG_CACHE_HOME:-~/.cache}/jibri-s3 (see docker/opscheck/check.sh).
.PHONY: ops-check
ops-check:
	docker/opscheck/check.sh
