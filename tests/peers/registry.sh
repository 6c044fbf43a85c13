# A local image registry (Debian's docker-registry, the CNCF distribution
# server) on 127.0.0.1, as sites run to pin their images: the tests push
# an image there and let geosync pull it. The engine trusts plain HTTP for
# 127.0.0.0/8 registries. Exports GEOSYNC_TEST_REGISTRY (host:port).

registry_install() {
  apt_install_missing docker-registry
}

registry_start() {
  local dir="$PEERS_STATE_DIR/registry" port
  port=$(free_port)
  rm -rf "$dir" && mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
CONFIG
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
  export GEOSYNC_TEST_REGISTRY="127.0.0.1:$port"
  wait_until 30 python3 -c "import urllib.request; urllib.request.urlopen('http://$GEOSYNC_TEST_REGISTRY/v2/')"
  log "registry on $GEOSYNC_TEST_REGISTRY"
}

registry_stop() {
  local pidfile="$PEERS_STATE_DIR/registry/pid"
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
  return 0
}
