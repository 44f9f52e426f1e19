#!/usr/bin/env bash
# Install the Debian packages Nguồn needs. As root: installs what is missing. Otherwise: prints the command.
# Usage: scripts/system-packages.sh run|test|bench
#   run    what the application needs
#   test   + what the test suite drives (chromium, pdftotext, nginx in front of the app, pg_dump for backups)
#   bench  + the references and servers `make bench` measures against (nginx, wrk, Mosquitto, PostgreSQL, Redis)
set -euo pipefail
# fonts-liberation2 (2.x, not 1.07): the Times New Roman twin with Vietnamese letters, for PDF reports;
# libharfbuzz-subset0 lets WeasyPrint subset fonts in C (fontTools, its fallback, doubles a PDF's time).
RUN_PACKAGES=(gettext ffmpeg espeak-ng icecast2 libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation2 libharfbuzz-subset0)
# poppler-utils: pdftotext reads exported PDF reports back; nginx: the shipped configuration is tested in front of the
# app (deploy/nginx); postgresql-client: pg_dump/pg_restore for `nguon backup` on PostgreSQL; openssl: test certificates.
TEST_PACKAGES=(chromium poppler-utils nginx postgresql-client openssl)
BENCH_PACKAGES=(nginx wrk mosquitto postgresql postgresql-client redis-server)
wanted=("${RUN_PACKAGES[@]}")
case "${1:-run}" in
  run) ;;
  test) wanted+=("${TEST_PACKAGES[@]}") ;;
  bench) wanted+=("${BENCH_PACKAGES[@]}") ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if printf '%s\n' "${missing[@]}" | grep -qx icecast2; then
    # Debian starts a system-wide icecast2 on port 8000, the application's port. Nguồn runs its own
    # (scripts/icecast.sh, port 8001), so the system one is stopped and kept from starting at boot.
    { systemctl disable --now icecast2 || { service icecast2 stop; update-rc.d icecast2 disable; }; } >/dev/null 2>&1 || true
  fi
  if printf '%s\n' "${missing[@]}" | grep -qx mosquitto; then
    # The benchmarks start their own broker on a free port; Debian's would hold 1883 for nothing.
    { systemctl disable --now mosquitto || { service mosquitto stop; update-rc.d mosquitto disable; }; } >/dev/null 2>&1 || true
  fi
else
  echo "Missing system packages: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
