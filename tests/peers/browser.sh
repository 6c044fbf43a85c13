# A real browser and a real WMS for the Mviewer tests: Debian's Chromium
# (run headless by the tests, every non-loopback host blocked) and Debian's
# MapServer CGI (run per request by the tests' loopback HTTP server, over a
# table of the test PostgreSQL cluster). Nothing runs between tests, so
# there is nothing to start or stop. Exports GEOSYNC_TEST_CHROMIUM and
# GEOSYNC_TEST_MAPSERV (paths of the two programs).
#
# Mviewer itself is not installed here: it is GPL and large, so the tests
# find a copy through GEOSYNC_MVIEWER_DIR (.ci/run sets it when one is at
# hand) and are skipped, saying so, without it.

browser_install() {
  apt_install_missing chromium cgi-mapserver mapserver-bin
}

browser_start() {
  export GEOSYNC_TEST_CHROMIUM GEOSYNC_TEST_MAPSERV
  GEOSYNC_TEST_CHROMIUM=$(command -v chromium)
  GEOSYNC_TEST_MAPSERV=/usr/lib/cgi-bin/mapserv
  [ -x "$GEOSYNC_TEST_MAPSERV" ] || { log "no $GEOSYNC_TEST_MAPSERV"; return 1; }
  log "chromium $("$GEOSYNC_TEST_CHROMIUM" --version 2>/dev/null | awk '{print $2}'), $("$GEOSYNC_TEST_MAPSERV" -v | cut -d' ' -f1-3)"
  if [ -z "${GEOSYNC_MVIEWER_DIR:-}" ]; then
    log "GEOSYNC_MVIEWER_DIR is not set: the Mviewer browser tests will be skipped"
  fi
}

browser_stop() {
  return 0
}
