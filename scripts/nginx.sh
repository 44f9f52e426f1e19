#!/usr/bin/env bash
# nginx in front of Nguồn: render the site configuration, make a self-signed certificate for a trial.
#
# Usage: scripts/nginx.sh config [OUT]    write the site file (default: stdout) from deploy/nginx/nguon.conf.in
#        scripts/nginx.sh cert DIR        write DIR/fullchain.pem and DIR/privkey.pem, self-signed for a trial
#                                         (the host names of NGUON_NGINX_SERVER_NAME, plus localhost and 127.0.0.1)
#
# Environment (defaults in brackets):
#   NGUON_NGINX_SERVER_NAME     host names, space separated [localhost]
#   NGUON_NGINX_UPSTREAMS       the gateway processes, host:port, space or comma separated [127.0.0.1:8000];
#                               one address for `nguon serve --gateways N` (one port), several for one port each
#   NGUON_NGINX_HTTP_PORT       [80]      NGUON_NGINX_HTTPS_PORT   [443]
#   NGUON_NGINX_CERT            [/etc/ssl/nguon/fullchain.pem]
#   NGUON_NGINX_KEY             [/etc/ssl/nguon/privkey.pem]
#   NGUON_NGINX_TEMP_DIR        request bodies and proxied responses on disk [/var/lib/nginx]
#   NGUON_NGINX_ACME_ROOT       Let's Encrypt webroot for http-01 challenges [/var/www/letsencrypt]
#   NGUON_DATA_DIR              the application's data directory (static/ and media/ under it) [var/ in the repo]
#   NGUON_MEDIA_ACCEL_REDIRECT  the internal location for device media [/_protected_media/]; the application
#                               must have the same value in its environment
#   NGUON_MAX_UPLOAD_MB         the application's upload limit; nginx allows a little more [500]
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE="$ROOT/deploy/nginx/nguon.conf.in"

die() { echo "nginx.sh: $*" >&2; exit 1; }

port() {
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 65535 ] || die "$1=$2 is not a port number"
  echo "$2"
}

render() {
  local names="${NGUON_NGINX_SERVER_NAME:-localhost}"
  local http https data accel mb upstreams="" suffix=""
  http="$(port NGUON_NGINX_HTTP_PORT "${NGUON_NGINX_HTTP_PORT:-80}")"
  https="$(port NGUON_NGINX_HTTPS_PORT "${NGUON_NGINX_HTTPS_PORT:-443}")"
  data="$(realpath -m "${NGUON_DATA_DIR:-$ROOT/var}")"
  accel="${NGUON_MEDIA_ACCEL_REDIRECT:-/_protected_media/}"
  [[ "$accel" == /*/ ]] || die "NGUON_MEDIA_ACCEL_REDIRECT=$accel must start and end with /"
  mb="${NGUON_MAX_UPLOAD_MB:-500}"
  [[ "$mb" =~ ^[0-9]+$ ]] || die "NGUON_MAX_UPLOAD_MB=$mb is not a number"
  [ "$https" = 443 ] || suffix=":$https"
  local address
  for address in ${NGUON_NGINX_UPSTREAMS:-127.0.0.1:8000}; do
    address="${address%,}"
    [ -n "$address" ] || continue
    [[ "$address" =~ ^[^:]+:[0-9]+$|^\[.*\]:[0-9]+$|^unix:/ ]] || die "NGUON_NGINX_UPSTREAMS: $address is not host:port"
    upstreams+="    server $address;"$'\n'
  done
  [ -n "$upstreams" ] || die "NGUON_NGINX_UPSTREAMS is empty"
  [ -f "$TEMPLATE" ] || die "$TEMPLATE is missing"
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    if [ "$line" = "@UPSTREAM_SERVERS@" ]; then
      printf '%s' "$upstreams"
      continue
    fi
    line="${line//@SERVER_NAME@/$names}"
    line="${line//@HTTP_PORT@/$http}"
    line="${line//@HTTPS_PORT@/$https}"
    line="${line//@HTTPS_SUFFIX@/$suffix}"
    line="${line//@TLS_CERT@/${NGUON_NGINX_CERT:-/etc/ssl/nguon/fullchain.pem}}"
    line="${line//@TLS_KEY@/${NGUON_NGINX_KEY:-/etc/ssl/nguon/privkey.pem}}"
    line="${line//@TEMP_DIR@/${NGUON_NGINX_TEMP_DIR:-/var/lib/nginx}}"
    line="${line//@ACME_ROOT@/${NGUON_NGINX_ACME_ROOT:-/var/www/letsencrypt}}"
    line="${line//@DATA_DIR@/$data}"
    line="${line//@MEDIA_ROOT@/$data/media}"
    line="${line//@ACCEL_PREFIX@/$accel}"
    line="${line//@MAX_BODY@/$((mb + 10))m}"
    printf '%s\n' "$line"
  done <"$TEMPLATE"
}

cert() {
  local dir="$1" names="${NGUON_NGINX_SERVER_NAME:-localhost}" san="" name
  command -v openssl >/dev/null || die "openssl is not installed (Debian: apt-get install openssl)"
  mkdir -p "$dir"
  for name in $names localhost; do
    [[ "$san" == *"DNS:$name,"* ]] || san+="DNS:$name,"
  done
  san+="IP:127.0.0.1"
  (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=${names%% *}" \
    -addext "subjectAltName=$san" -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" 2>/dev/null)
  chmod 644 "$dir/fullchain.pem"
  echo "$dir/fullchain.pem"
}

case "${1:-}" in
  config)
    if [ -n "${2:-}" ]; then
      render >"$2.tmp" && mv -f "$2.tmp" "$2"
      echo "$2"
    else
      render
    fi
    ;;
  cert)
    [ -n "${2:-}" ] || die "usage: scripts/nginx.sh cert DIR"
    cert "$2"
    ;;
  *)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
