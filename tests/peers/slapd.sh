# OpenLDAP slapd (Debian) with geOrchestra's schema and DIT
# (tests/fixtures/georchestra-ldap): groupOfMembers, the memberof overlay,
# the georchestra schema, then the sample users, roles and orgs, on a free
# loopback port, as a user process with its own cn=config.
# Its Cyrus SASL configuration sends {SASL} passwords to a saslauthd whose
# socket is GEOSYNC_TEST_SASLAUTHD_MUX (a test starts it). Debian's slapd
# reads that configuration only from /etc/ldap/sasl2 (SASL_CONF_PATH is
# ignored), so slapd runs in a mount namespace of its own where the run's
# folder is mounted there: the host's /etc/ldap/sasl2 is never written.
# Exports GEOSYNC_TEST_LDAP_URL, GEOSYNC_TEST_LDAP_BASE, GEOSYNC_TEST_LDAP_ADMIN
# (the rootdn), GEOSYNC_TEST_LDAP_ADMIN_PASSWORD and GEOSYNC_TEST_LDAPI (the
# ldapi:// URL of its socket, for cn=config as root).

slapd_install() {
  apt_install_missing slapd ldap-utils sasl2-bin libsasl2-modules
}

_slapd_config() {
  local dir="$1" password="$2"
  cat <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcArgsFile: $dir/slapd.args

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 1000

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: dc=georchestra,dc=org
olcRootDN: cn=admin,dc=georchestra,dc=org
olcRootPW: $password
olcDbDirectory: $dir/data
olcDbMaxSize: 1073741824
olcLimits: dn.exact="cn=admin,dc=georchestra,dc=org" size=unlimited time=unlimited
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: cn eq
olcDbIndex: member eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read
EOF
}

slapd_start() {
  local dir="$PEERS_STATE_DIR/slapd" fixtures="$PWD/tests/fixtures/georchestra-ldap"
  rm -rf "$dir"
  mkdir -p "$dir/slapd.d" "$dir/data"
  local password="admin-$RANDOM$RANDOM"
  _slapd_config "$dir" "$password" >"$dir/config.ldif"
  slapadd -n0 -F "$dir/slapd.d" -l "$dir/config.ldif" >"$dir/slapadd.log" 2>&1
  local port socket
  port=$(free_port)
  socket="$dir/ldapi"
  GEOSYNC_TEST_LDAPI="ldapi://$(printf '%s' "$socket" | sed 's,/,%2F,g')"
  mkdir -p "$dir/sasl2" "$dir/saslauthd"
  export GEOSYNC_TEST_SASLAUTHD_MUX="$dir/saslauthd/mux"
  printf 'pwcheck_method: saslauthd\nsaslauthd_path: %s\n' "$GEOSYNC_TEST_SASLAUTHD_MUX" >"$dir/sasl2/slapd.conf"
  mkdir -p /etc/ldap/sasl2
  unshare --mount --propagation private sh -c 'mount --bind "$1" /etc/ldap/sasl2 && shift && exec "$@"' \
    sh "$dir/sasl2" slapd -h "ldap://127.0.0.1:$port/ $GEOSYNC_TEST_LDAPI" -F "$dir/slapd.d" 2>"$dir/slapd.log"
  wait_until 30 ldapsearch -x -H "ldap://127.0.0.1:$port" -b "" -s base
  export GEOSYNC_TEST_LDAPI
  export GEOSYNC_TEST_LDAP_URL="ldap://127.0.0.1:$port"
  export GEOSYNC_TEST_LDAP_BASE="dc=georchestra,dc=org"
  export GEOSYNC_TEST_LDAP_ADMIN="cn=admin,dc=georchestra,dc=org"
  export GEOSYNC_TEST_LDAP_ADMIN_PASSWORD="$password"
  for ldif in groupofmembers memberof georchestraSchema; do
    ldapadd -Q -Y EXTERNAL -H "$GEOSYNC_TEST_LDAPI" -f "$fixtures/$ldif.ldif" >>"$dir/setup.log"
  done
  printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nadd: olcDbIndex\nolcDbIndex: memberOf eq\n' |
    ldapmodify -Q -Y EXTERNAL -H "$GEOSYNC_TEST_LDAPI" >>"$dir/setup.log"
  printf 'dn: dc=georchestra,dc=org\nobjectClass: dcObject\nobjectClass: organization\ndc: georchestra\no: georchestra\n' |
    slapd_admin ldapadd >>"$dir/setup.log"
  slapd_admin ldapadd -f "$fixtures/georchestra.ldif" >>"$dir/setup.log"
  log "slapd on $GEOSYNC_TEST_LDAP_URL"
}

# Runs an ldap-utils command as the rootdn: slapd_admin ldapsearch -b BASE ...
slapd_admin() {
  local tool="$1"; shift
  "$tool" -x -H "$GEOSYNC_TEST_LDAP_URL" -D "$GEOSYNC_TEST_LDAP_ADMIN" -w "$GEOSYNC_TEST_LDAP_ADMIN_PASSWORD" "$@"
}

slapd_stop() {
  local pidfile="$PEERS_STATE_DIR/slapd/slapd.pid"
  if [ -f "$pidfile" ]; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    wait_until 30 bash -c "! kill -0 $pid"
  fi
  return 0
}
