# Debian's docker-compose (1.29): the reference that import-compose's
# round trip compares with (`docker-compose config` resolves a compose file
# as compose runs it). Nothing to start: it talks to the machine's engine.
# Exports GEOSYNC_TEST_DOCKER_COMPOSE.

compose_install() {
  apt_install_missing docker-compose
}

compose_start() {
  export GEOSYNC_TEST_DOCKER_COMPOSE=/usr/bin/docker-compose
  log "$("$GEOSYNC_TEST_DOCKER_COMPOSE" version --short)"
}

compose_stop() {
  :
}
