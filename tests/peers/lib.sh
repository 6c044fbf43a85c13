# Helpers shared by the peer scripts (sourced, not run).
#
# Each real service the tests use has one script here, tests/peers/NAME.sh,
# defining NAME_install, NAME_start and NAME_stop. NAME_start exports the
# GEOSYNC_TEST_* variables the tests read to reach it; tests that need a
# service and do not find its variables fail with a message saying so.
# tests/run lists the peers to start.

# Each run keeps its services' files in a folder of its own (made here unless
# PEERS_STATE_DIR names one), so runs side by side never share or delete each
# other's state; tests/run removes a folder it made when it ends.
if [ -z "${PEERS_STATE_DIR:-}" ]; then
  PEERS_STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/geosync-peers.XXXXXX")
  PEERS_STATE_DIR_OWNED=1
fi
mkdir -p "$PEERS_STATE_DIR"
# The postgres user must reach its cluster folders inside.
chmod 755 "$PEERS_STATE_DIR"
# Labels what this run creates on the shared Docker Engine, so its clean-up
# removes only that.
export GEOSYNC_TEST_RUN="${GEOSYNC_TEST_RUN:-$(basename "$PEERS_STATE_DIR")-$$}"

log() { printf '[peers] %s\n' "$*" >&2; }

# Installs the Debian packages that are not installed yet; apt-get update
# runs at most once per run, and only when something is missing.
apt_install_missing() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ ! -f "$PEERS_STATE_DIR/apt-updated" ]; then
    log "apt-get update"
    apt-get update -qq >&2
    touch "$PEERS_STATE_DIR/apt-updated"
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Polls a command until it succeeds, up to a timeout in seconds.
wait_until() {
  local timeout="$1"; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "timed out after ${timeout}s waiting for: $*"
      return 1
    fi
    sleep 0.2
  done
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
