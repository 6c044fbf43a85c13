# The Docker Engine is started by the machine; this checks it answers and
# installs Debian's static busybox, from which tests build their images
# (no registry can be reached, so nothing is pulled).
# Exports GEOSYNC_TEST_BUSYBOX.

docker_install() {
  apt_install_missing busybox-static
}

docker_start() {
  wait_until 30 docker info
  export GEOSYNC_TEST_BUSYBOX=/bin/busybox
  log "docker engine $(docker version --format '{{.Server.Version}}')"
}

docker_stop() {
  # Tests remove what they create; sweep what a killed test of this run
  # left behind, and nothing of any other run.
  docker ps -aq --filter "label=org.geosync.test=$GEOSYNC_TEST_RUN" | xargs -r docker rm -f >/dev/null 2>&1 || true
}
