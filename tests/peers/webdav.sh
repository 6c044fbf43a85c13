# WebDAV servers as the share of the sync tests: rclone's WebDAV server
# (Debian rclone) over a folder of this run, with Basic credentials. Plain
# WebDAV, as most servers: folders have no etag, so the sync walks fully.
# Each test works in a folder of its own below GEOSYNC_TEST_WEBDAV_DIR,
# reached at GEOSYNC_TEST_WEBDAV_URL/<folder>/ with GEOSYNC_TEST_WEBDAV_USER
# and GEOSYNC_TEST_WEBDAV_PASSWORD. Also checks that owncloudcmd (Debian
# owncloud-client-cmd, the ownCloud emulator's conformance client) is there,
# exported as GEOSYNC_TEST_OWNCLOUDCMD.

webdav_install() {
  apt_install_missing rclone owncloud-client-cmd
}

webdav_start() {
  local dir="$PEERS_STATE_DIR/webdav" port
  port=$(free_port)
  rm -rf "$dir" && mkdir -p "$dir/root"
  export GEOSYNC_TEST_WEBDAV_DIR="$dir/root"
  export GEOSYNC_TEST_WEBDAV_URL="http://127.0.0.1:$port"
  export GEOSYNC_TEST_WEBDAV_USER=geosync-test
  GEOSYNC_TEST_WEBDAV_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export GEOSYNC_TEST_WEBDAV_PASSWORD
  export GEOSYNC_TEST_OWNCLOUDCMD
  GEOSYNC_TEST_OWNCLOUDCMD=$(command -v owncloudcmd)
  rclone serve webdav "$dir/root" --addr "127.0.0.1:$port" \
    --user "$GEOSYNC_TEST_WEBDAV_USER" --pass "$GEOSYNC_TEST_WEBDAV_PASSWORD" \
    --dir-cache-time 0s --config /dev/null >"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
  wait_until 30 python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)"
  log "rclone webdav on $GEOSYNC_TEST_WEBDAV_URL ($(rclone version 2>/dev/null | head -1))"
}

webdav_stop() {
  local pidfile="$PEERS_STATE_DIR/webdav/pid"
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
  return 0
}
