# pycsw 2.6.2 (PyPI) as a real CSW-T catalogue: transactions on, allowed
# from 127.0.0.1 only, a SQLite repository, the ISO Application Profile
# (apiso), served on 127.0.0.1 by tests/peers/pycsw_serve.py.
# Installed into a virtualenv that is made again when missing or broken
# (GEOSYNC_PEERS_CACHE, default ~/.cache/geosync-peers), with SQLAlchemy<2
# (pycsw needs it and does not declare it). xmllint (libxml2-utils)
# validates records offline against the ISO 19139 schemas pycsw ships.
# Exports GEOSYNC_TEST_CSW_URL (the CSW endpoint) and GEOSYNC_TEST_ISO_XSD
# (pycsw's gmd.xsd; gmx/ and srv/ are beside gmd/).

PYCSW_VENV="${GEOSYNC_PEERS_CACHE:-$HOME/.cache/geosync-peers}/pycsw-2.6.2"

pycsw_install() {
  apt_install_missing python3-venv libxml2-utils
  if ! "$PYCSW_VENV/bin/python" -c 'import pycsw, sqlalchemy' >/dev/null 2>&1; then
    log "installing pycsw 2.6.2 into $PYCSW_VENV"
    rm -rf "$PYCSW_VENV"
    python3 -m venv "$PYCSW_VENV"
    "$PYCSW_VENV/bin/pip" install -q "pycsw==2.6.2" "SQLAlchemy<2" >&2
  fi
}

_pycsw_config() {
  local dir="$1" port="$2"
  cat <<CFG
[server]
home=$dir
url=http://127.0.0.1:$port/
mimetype=application/xml; charset=UTF-8
encoding=UTF-8
language=en-US
maxrecords=10
loglevel=WARNING
logfile=$dir/pycsw.log
pretty_print=true
gzip_compresslevel=0
domainquerytype=list
domaincounts=false
profiles=apiso

[manager]
transactions=true
allowed_ips=127.0.0.1

[metadata:main]
identification_title=geosync test catalogue
identification_abstract=pycsw for the geosync CSW-T tests
identification_keywords=geosync,test
identification_keywords_type=theme
identification_fees=None
identification_accessconstraints=None
provider_name=geosync
provider_url=http://127.0.0.1/
contact_name=geosync
contact_position=test
contact_address=none
contact_city=none
contact_stateorprovince=none
contact_postalcode=0
contact_country=none
contact_phone=none
contact_fax=none
contact_email=none@127.0.0.1
contact_url=http://127.0.0.1/
contact_hours=always
contact_instructions=none
contact_role=pointOfContact

[repository]
database=sqlite:///$dir/records.db
table=records

[metadata:inspire]
enabled=false
languages_supported=eng
default_language=eng
date=2026-01-01
gemet_keywords=Utility and governmental services
conformity_service=notEvaluated
contact_name=geosync
contact_email=none@127.0.0.1
temp_extent=2026-01-01/2026-12-31
CFG
}

_pycsw_ready() {
  "$PYCSW_VENV/bin/python" -c 'import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1] + "?service=CSW&version=2.0.2&request=GetCapabilities", timeout=2).read()
sys.exit(0 if b"Capabilities" in body else 1)' "$1"
}

pycsw_start() {
  local dir="$PEERS_STATE_DIR/pycsw" port
  rm -rf "$dir"
  mkdir -p "$dir"
  port=$(free_port)
  _pycsw_config "$dir" "$port" >"$dir/pycsw.cfg"
  "$PYCSW_VENV/bin/pycsw-admin.py" -c setup_db -f "$dir/pycsw.cfg" >"$dir/setup.log" 2>&1
  "$PYCSW_VENV/bin/python" tests/peers/pycsw_serve.py "$dir/pycsw.cfg" "$port" >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  export GEOSYNC_TEST_CSW_URL="http://127.0.0.1:$port/"
  wait_until 30 _pycsw_ready "$GEOSYNC_TEST_CSW_URL"
  GEOSYNC_TEST_ISO_XSD=$("$PYCSW_VENV/bin/python" -c 'import os, pycsw
print(os.path.join(os.path.dirname(pycsw.__file__), "plugins/profiles/apiso/schemas/ogc/iso/19139/20060504/gmd/gmd.xsd"))')
  export GEOSYNC_TEST_ISO_XSD
  [ -f "$GEOSYNC_TEST_ISO_XSD" ] || { log "pycsw ships no $GEOSYNC_TEST_ISO_XSD"; return 1; }
}

pycsw_stop() {
  local pidfile="$PEERS_STATE_DIR/pycsw/pid"
  [ -f "$pidfile" ] || return 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}
