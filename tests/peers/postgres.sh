# PostgreSQL 15 + PostGIS 3 from Debian, as two private clusters on loopback:
#  - "main": roles, databases, extensions, grants; trusts loopback except for
#    members of geosync_pw_users, who must give their password (scram);
#  - "hba": its pg_hba.conf is rewritten by the tests (one test at a time).
# Exports GEOSYNC_TEST_PG_PORT, GEOSYNC_TEST_PG_HBA_PORT, GEOSYNC_TEST_PG_HBA_FILE.

PG_BIN=/usr/lib/postgresql/15/bin

postgres_install() {
  apt_install_missing postgresql-15-postgis-3
}

_pg_cluster_start() {
  local name="$1" port="$2" dir="$PEERS_STATE_DIR/pg-$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
  wait_until 30 runuser -u postgres -- "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$port"
}

postgres_start() {
  export GEOSYNC_TEST_PG_PORT GEOSYNC_TEST_PG_HBA_PORT GEOSYNC_TEST_PG_HBA_FILE
  GEOSYNC_TEST_PG_PORT=$(free_port)
  GEOSYNC_TEST_PG_HBA_PORT=$(free_port)
  _pg_cluster_start main "$GEOSYNC_TEST_PG_PORT"
  _pg_cluster_start hba "$GEOSYNC_TEST_PG_HBA_PORT"
  GEOSYNC_TEST_PG_HBA_FILE="$PEERS_STATE_DIR/pg-hba/data/pg_hba.conf"

  # Password checks: members of geosync_pw_users authenticate with scram.
  local hba="$PEERS_STATE_DIR/pg-main/data/pg_hba.conf"
  { echo "host all +geosync_pw_users 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$hba.new"
  mv "$hba.new" "$hba" && chown postgres:postgres "$hba"
  psql_main -c "CREATE ROLE geosync_pw_users NOLOGIN" >/dev/null
  psql_main -c "SELECT pg_reload_conf()" >/dev/null
  log "postgres main on 127.0.0.1:$GEOSYNC_TEST_PG_PORT, hba on 127.0.0.1:$GEOSYNC_TEST_PG_HBA_PORT"
}

psql_main() {
  psql -X -q -h 127.0.0.1 -p "$GEOSYNC_TEST_PG_PORT" -U postgres -d postgres "$@"
}

postgres_stop() {
  for name in main hba; do
    local dir="$PEERS_STATE_DIR/pg-$name"
    [ -d "$dir/data" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
  done
  return 0
}
