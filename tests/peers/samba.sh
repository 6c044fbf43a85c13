# Samba 4 AD DC (Debian) as the Active Directory: provisioned into the
# run's state folder (realm GEO.TEST), serving LDAPS on 127.0.0.1:636 with
# a certificate for 127.0.0.1 from a test CA. A plain ldap:// simple bind
# is refused, as a real AD refuses it. Samba listens on the fixed AD ports
# (389, 636, 88...), so only one run at a time can have it: a samba left
# by an earlier run of these scripts is stopped first; anything else on
# those ports stops the start with a message.
# Plain ldap:// on 389 accepts StartTLS with the same certificate.
# Exports GEOSYNC_TEST_AD_URL, GEOSYNC_TEST_AD_STARTTLS_URL, GEOSYNC_TEST_AD_BASE, GEOSYNC_TEST_AD_ADMIN
# (Administrator's DN), GEOSYNC_TEST_AD_ADMIN_PASSWORD, GEOSYNC_TEST_AD_CA,
# GEOSYNC_TEST_AD_SMB_CONF (for samba-tool -s) and GEOSYNC_TEST_AD_REALM.

samba_install() {
  apt_install_missing samba samba-ad-dc samba-ad-provision krb5-user winbind ldap-utils
}

# Stops a samba that an earlier run of these scripts left (its smb.conf
# lies in a geosync-peers state folder); refuses to touch any other.
_samba_stop_stale() {
  local pid
  # samba renames its processes ("samba: root process"): tell ours by the
  # files it holds open in a geosync-peers state folder.
  for pid in $(pgrep samba 2>/dev/null || true); do
    if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q 'geosync-peers[^/]*/samba/'; then
      log "stopping a samba left by an earlier run (pid $pid)"
      kill "$pid" 2>/dev/null || true
    fi
  done
  wait_until 30 bash -c '! ss -ltn "( sport = :636 or sport = :389 )" | grep -q LISTEN' || {
    log "another program listens on 127.0.0.1:389/636; the Samba AD peer cannot start"
    return 1
  }
}

_samba_certificates() {
  local dir="$1"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=geosync test AD CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=dc1.geo.test" \
    -keyout "$dir/key.pem" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:dc1.geo.test\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/server.ext" -out "$dir/cert.pem" 2>/dev/null
  chmod 600 "$dir/key.pem"
}

samba_start() {
  local dir="$PEERS_STATE_DIR/samba"
  _samba_stop_stale
  rm -rf "$dir"
  mkdir -p "$dir"
  local password="Adm1n-$RANDOM-$RANDOM!"
  samba-tool domain provision --realm=GEO.TEST --domain=GEO --server-role=dc \
    --dns-backend=NONE --use-rfc2307 --adminpass="$password" --targetdir="$dir" \
    --host-name=dc1 --option="interfaces=lo" --option="bind interfaces only=yes" \
    >"$dir/provision.log" 2>&1
  local tls="$dir/tls"
  _samba_certificates "$tls"
  # The certificate for 127.0.0.1, and the settings a lab AD has.
  sed -i "/^\[global\]/a\\
\ttls enabled = yes\\
\ttls keyfile = $tls/key.pem\\
\ttls certfile = $tls/cert.pem\\
\ttls cafile = $tls/ca.pem\\
\tldap server require strong auth = yes" "$dir/etc/smb.conf"
  samba -i -M single -s "$dir/etc/smb.conf" >"$dir/samba.log" 2>&1 &
  echo $! >"$dir/samba.pid"
  export GEOSYNC_TEST_AD_CA="$tls/ca.pem"
  export GEOSYNC_TEST_AD_URL="ldaps://127.0.0.1:636"
  export GEOSYNC_TEST_AD_STARTTLS_URL="ldap://127.0.0.1:389"
  export GEOSYNC_TEST_AD_BASE="DC=geo,DC=test"
  export GEOSYNC_TEST_AD_ADMIN="CN=Administrator,CN=Users,DC=geo,DC=test"
  export GEOSYNC_TEST_AD_ADMIN_PASSWORD="$password"
  export GEOSYNC_TEST_AD_SMB_CONF="$dir/etc/smb.conf"
  export GEOSYNC_TEST_AD_REALM="GEO.TEST"
  wait_until 60 env LDAPTLS_CACERT="$GEOSYNC_TEST_AD_CA" ldapsearch -x -H "$GEOSYNC_TEST_AD_URL" \
    -D "$GEOSYNC_TEST_AD_ADMIN" -w "$password" -b "$GEOSYNC_TEST_AD_BASE" -s base
  log "samba AD DC on $GEOSYNC_TEST_AD_URL (realm GEO.TEST)"
}

samba_stop() {
  local pidfile="$PEERS_STATE_DIR/samba/samba.pid"
  if [ -f "$pidfile" ]; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    wait_until 30 bash -c "! kill -0 $pid"
  fi
  return 0
}
