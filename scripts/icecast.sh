#!/usr/bin/env bash
# Run Icecast for Nguồn live broadcasts and stream relays.
#
# Usage: scripts/icecast.sh start|stop|restart|status|config
#
#   start    write the configuration, then start icecast2 in the background unless it already runs with that
#            configuration (safe to call again and again; a changed configuration restarts it)
#   stop     stop the icecast2 this script started
#   restart  stop, then start
#   status   say whether it runs (exit 0) or not (exit 3)
#   config   only write the configuration and print its path
#
# Everything lives in $NGUON_DATA_DIR/icecast (default: var/icecast in the repository): icecast.xml (mode 600),
# secrets/*.password, run/ (pid file and logs). Nothing is written to the repository or to /etc.
#
# Environment:
#   NGUON_DATA_DIR                  data directory shared with the application
#   NGUON_ICECAST_PORT              listening port (default 8001; 8000 is the application's)
#   NGUON_ICECAST_BIND              address to bind (default 127.0.0.1; put a proxy in front, or use 0.0.0.0)
#   NGUON_ICECAST_HOSTNAME          host name shown in Icecast's own pages (default localhost)
#   NGUON_ICECAST_SOURCE_PASSWORD   password of encoders (user "source"); generated into secrets/ when unset
#   NGUON_ICECAST_ADMIN_PASSWORD    password of the Icecast admin pages (user "admin"); generated when unset
#   NGUON_ICECAST_RELAY_PASSWORD    password for relays between Icecast servers; generated when unset
#   NGUON_ICECAST_MAX_CLIENTS       listeners at once (default 1000: every loudspeaker of a live broadcast is one)
#   NGUON_ICECAST_MAX_SOURCES       live mounts at once (default 10)
#   NGUON_ICECAST_USER              account icecast2 drops to when this script runs as root (default icecast2,
#                                   else nobody); icecast2 refuses to keep root rights
#   NGUON_ICECAST_BIN               the icecast binary (default: icecast2 on the PATH)
#
# The application reads the source password from NGUON_ICECAST_SOURCE_PASSWORD or from secrets/source.password,
# and builds stream addresses from NGUON_ICECAST_URL (default http://127.0.0.1:8001).
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE="$ROOT/deploy/icecast.xml.in"
DATA_DIR="${NGUON_DATA_DIR:-$ROOT/var}"
ICE_DIR="$DATA_DIR/icecast"
CONFIG="$ICE_DIR/icecast.xml"
SECRETS="$ICE_DIR/secrets"
RUN_DIR="$ICE_DIR/run"
PID_FILE="$RUN_DIR/icecast.pid"
PORT="${NGUON_ICECAST_PORT:-8001}"
BIND="${NGUON_ICECAST_BIND:-127.0.0.1}"
APP_PORT="${NGUON_APP_PORT:-8000}"

die() { echo "icecast.sh: $*" >&2; exit 1; }

find_binary() {
  local bin="${NGUON_ICECAST_BIN:-}"
  [ -n "$bin" ] || bin="$(command -v icecast2 || command -v icecast || true)"
  [ -n "$bin" ] && [ -x "$bin" ] || die "icecast2 is not installed (Debian: apt-get install icecast2, or scripts/system-packages.sh run)"
  echo "$bin"
}

check_settings() {
  [[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] \
    || die "NGUON_ICECAST_PORT=$PORT is not a port number"
  [ "$PORT" != "$APP_PORT" ] || die "NGUON_ICECAST_PORT=$PORT is the application's port; choose another (default 8001)"
  [ -f "$TEMPLATE" ] || die "$TEMPLATE is missing"
}

# A password from the environment, else the one generated into the data directory the first time.
secret() {
  local name="$1" value="$2" file="$SECRETS/$1.password"
  if [ -n "$value" ]; then
    printf '%s' "$value"
    return
  fi
  if [ ! -s "$file" ]; then
    local generated
    generated="$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')"
    (umask 077 && printf '%s\n' "${generated:0:32}" >"$file.tmp" && mv -f "$file.tmp" "$file")
  fi
  head -n1 "$file" | tr -d '\n'
}

# When run as root, icecast2 must be told which account to drop to; it refuses to keep root rights.
run_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  local user="${NGUON_ICECAST_USER:-}"
  if [ -z "$user" ]; then
    if getent passwd icecast2 >/dev/null; then user=icecast2; else user=nobody; fi
  fi
  getent passwd "$user" >/dev/null || die "NGUON_ICECAST_USER=$user is not an account on this machine"
  echo "$user"
}

# Write the configuration to $1 from the template (values XML-escaped, passwords never echoed).
render_config() {
  local out="$1" user group changeowner="" source admin relay
  user="$(run_user)"
  if [ -n "$user" ]; then
    group="$(id -gn "$user")"
    changeowner="        <changeowner><user>$user</user><group>$group</group></changeowner>"
  fi
  source="$(secret source "${NGUON_ICECAST_SOURCE_PASSWORD:-}")" || die "cannot write $SECRETS"
  admin="$(secret admin "${NGUON_ICECAST_ADMIN_PASSWORD:-}")" || die "cannot write $SECRETS"
  relay="$(secret relay "${NGUON_ICECAST_RELAY_PASSWORD:-}")" || die "cannot write $SECRETS"
  ICE_LOCATION="${NGUON_ICECAST_LOCATION:-Nguồn}" \
  ICE_ADMIN_EMAIL="${NGUON_ICECAST_ADMIN_EMAIL:-root@localhost}" \
  ICE_HOSTNAME="${NGUON_ICECAST_HOSTNAME:-localhost}" \
  ICE_MAX_CLIENTS="${NGUON_ICECAST_MAX_CLIENTS:-1000}" \
  ICE_MAX_SOURCES="${NGUON_ICECAST_MAX_SOURCES:-10}" \
  ICE_SOURCE_PASSWORD="$source" \
  ICE_ADMIN_PASSWORD="$admin" \
  ICE_RELAY_PASSWORD="$relay" \
  ICE_PORT="$PORT" \
  ICE_BIND_ADDRESS="$BIND" \
  ICE_RUN_DIR="$RUN_DIR" \
  ICE_LOG_DIR="$RUN_DIR" \
  ICE_PID_FILE="$PID_FILE" \
  ICE_WEBROOT="${NGUON_ICECAST_WEBROOT:-/etc/icecast2/web}" \
  ICE_ADMINROOT="${NGUON_ICECAST_ADMINROOT:-/etc/icecast2/admin}" \
  ICE_CHANGEOWNER="$changeowner" \
  perl -pe '
    sub esc { my $v = shift; $v =~ s/&/&amp;/g; $v =~ s/</&lt;/g; $v =~ s/>/&gt;/g; $v =~ s/"/&quot;/g; $v }
    s{@([A-Z_]+)@}{
      exists $ENV{"ICE_$1"} or die "unknown placeholder \@$1\@ in the template\n";
      $1 eq "CHANGEOWNER" ? $ENV{"ICE_$1"} : esc($ENV{"ICE_$1"})
    }ge' "$TEMPLATE" >"$out" || die "cannot fill in $TEMPLATE"
  if [ -n "$user" ]; then
    # icecast2 opens its logs after dropping to $user: that account must own run/ and reach it.
    chown "$user:$group" "$RUN_DIR"
    if command -v runuser >/dev/null && ! runuser -u "$user" -- test -w "$RUN_DIR"; then
      die "icecast2 runs as $user, which cannot reach $RUN_DIR: let it traverse the directories above (chmod o+x)"
    fi
  fi
}

# Write the configuration; print "changed" or "same".
write_config() {
  (umask 077 && mkdir -p "$ICE_DIR" "$SECRETS" "$RUN_DIR") || die "cannot create $ICE_DIR"
  # Others may pass through (icecast2 may run as another account) but not list; secrets stay private.
  chmod 711 "$ICE_DIR"
  chmod 700 "$SECRETS"
  local tmp="$CONFIG.new"
  (umask 077 && : >"$tmp")
  render_config "$tmp"
  if [ -f "$CONFIG" ] && cmp -s "$tmp" "$CONFIG"; then
    rm -f "$tmp"
    echo same
  else
    mv -f "$tmp" "$CONFIG"
    echo changed
  fi
}

running_pid() {
  [ -s "$PID_FILE" ] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A stale pid file may name an unrelated process that reused the number: check it is our icecast.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$CONFIG" || return 1
  echo "$pid"
}

port_answers() {
  local host="$BIND"
  [ "$host" = "0.0.0.0" ] && host=127.0.0.1
  [ "$host" = "::" ] && host=::1
  (exec 3<>"/dev/tcp/$host/$PORT") 2>/dev/null
}

do_start() {
  local bin changed pid
  bin="$(find_binary)"
  check_settings
  changed="$(write_config)"
  if pid="$(running_pid)"; then
    if [ "$changed" = same ]; then
      echo "icecast2 already runs (pid $pid) on port $PORT"
      return 0
    fi
    echo "configuration changed: restarting icecast2"
    do_stop
  fi
  if port_answers; then
    die "port $PORT is already taken by another program; set NGUON_ICECAST_PORT"
  fi
  rm -f "$PID_FILE"
  # -b: icecast2 detaches itself; its output goes to run/error.log.
  # setsid: its own session, so that it outlives the shell (and the terminal) that started it.
  setsid "$bin" -b -c "$CONFIG" >"$RUN_DIR/start.log" 2>&1 || {
    cat "$RUN_DIR/start.log" >&2
    die "icecast2 did not start"
  }
  for _ in $(seq 1 100); do
    if pid="$(running_pid)" && port_answers; then
      echo "icecast2 started (pid $pid) on $BIND:$PORT"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$RUN_DIR/error.log" >&2 2>/dev/null || true
  die "icecast2 did not come up on port $PORT (see $RUN_DIR/error.log)"
}

do_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "icecast2 is not running"
    rm -f "$PID_FILE"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$PID_FILE"
  echo "icecast2 stopped (pid $pid)"
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status)
    if pid="$(running_pid)"; then
      echo "icecast2 runs (pid $pid) on port $(sed -n 's:.*<port>\([0-9]*\)</port>.*:\1:p' "$CONFIG" | head -n1)"
    else
      echo "icecast2 is not running"
      exit 3
    fi
    ;;
  config) check_settings; write_config >/dev/null; echo "$CONFIG" ;;
  -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "usage: scripts/icecast.sh start|stop|restart|status|config (see --help)" >&2; exit 2 ;;
esac
