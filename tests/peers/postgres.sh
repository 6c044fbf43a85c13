# PostgreSQL 15 + PostGIS 3 from Debian, as two private clusters on loopback:
#  - "main": roles, databases, extensions, grants; trusts loopback except for
#    members of geosync_pw_users, who must give their password (scram);
#  - "hba": its pg_hba.conf is rewritten by the tests (one test at a time).
# "main" also serves TLS with a certificate for 127.0.0.1 from a test CA;
# its role geosync_tls_admin may only connect over TLS.
# Exports GEOSYNC_TEST_PG_PORT, GEOSYNC_TEST_PG_HBA_PORT, GEOSYNC_TEST_PG_HBA_FILE,
# GEOSYNC_TEST_PG_HBA_PRISTINE (that file as initdb wrote it),
# GEOSYNC_TEST_PG_CA (the test CA), GEOSYNC_TEST_PG_OTHER_CA (a CA that
# signed nothing the server holds) and GEOSYNC_TEST_PG_SOCKET_DIR (the
# folder of main's Unix socket).

PG_BIN=/usr/lib/postgresql/15/bin

postgres_install() {
  apt_install_missing postgresql-15-postgis-3
}

# A CA, and a server certificate it signs for 127.0.0.1.
_pg_certificates() {
  local dir="$1"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=geosync test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
    -keyout "$dir/other-ca.key" -out "$dir/other-ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  chown postgres:postgres "$dir/server.key" "$dir/server.crt"
  chmod 600 "$dir/server.key"
}

_pg_cluster_start() {
  local name="$1" port="$2" dir="$PEERS_STATE_DIR/pg-$1" extra="${3:-}"
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $extra" start >/dev/null
  wait_until 30 runuser -u postgres -- "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$port"
}

postgres_start() {
  export GEOSYNC_TEST_PG_PORT GEOSYNC_TEST_PG_HBA_PORT GEOSYNC_TEST_PG_HBA_FILE
  GEOSYNC_TEST_PG_PORT=$(free_port)
  GEOSYNC_TEST_PG_HBA_PORT=$(free_port)
  local certs="$PEERS_STATE_DIR/pg-certs"
  _pg_certificates "$certs"
  export GEOSYNC_TEST_PG_CA="$certs/ca.crt" GEOSYNC_TEST_PG_OTHER_CA="$certs/other-ca.crt"
  _pg_cluster_start main "$GEOSYNC_TEST_PG_PORT" \
    "-c ssl=on -c ssl_cert_file=$certs/server.crt -c ssl_key_file=$certs/server.key"
  export GEOSYNC_TEST_PG_SOCKET_DIR="$PEERS_STATE_DIR/pg-main"
  _pg_cluster_start hba "$GEOSYNC_TEST_PG_HBA_PORT"
  GEOSYNC_TEST_PG_HBA_FILE="$PEERS_STATE_DIR/pg-hba/data/pg_hba.conf"
  # Each hba test starts from initdb's file, whatever an earlier one left.
  export GEOSYNC_TEST_PG_HBA_PRISTINE="$PEERS_STATE_DIR/pg-hba/pg_hba.conf.initdb"
  cp "$GEOSYNC_TEST_PG_HBA_FILE" "$GEOSYNC_TEST_PG_HBA_PRISTINE"

  # Password checks: members of geosync_pw_users authenticate with scram.
  local hba="$PEERS_STATE_DIR/pg-main/data/pg_hba.conf"
  { echo "hostnossl all geosync_tls_admin all reject"
    echo "host all +geosync_pw_users 127.0.0.1/32 scram-sha-256"
    cat "$hba"; } >"$hba.new"
  mv "$hba.new" "$hba" && chown postgres:postgres "$hba"
  psql_main -c "CREATE ROLE geosync_pw_users NOLOGIN" >/dev/null
  psql_main -c "CREATE ROLE geosync_tls_admin SUPERUSER LOGIN" >/dev/null
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
