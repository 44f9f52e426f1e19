#!/usr/bin/env bash
# A demo central instance beside the province of `make run`: its own data directory (var/centre) and port (8101),
# paired with the province as its parent. Then sign in at http://127.0.0.1:8101 as tw.bientap / tw.pheduyet and
# publish an emergency bulletin: the province (run with NGUON_CENTRAL_ALLOW_PRIVATE=1 make run) plays it on its
# devices. Usage: scripts/centre.sh (called by `make centre`).
set -euo pipefail
cd "$(dirname "$0")/.."
NGUON=.venv/bin/nguon
PORT="${CENTRE_PORT:-8101}"
export NGUON_CENTRAL_ALLOW_PRIVATE=1
centre() { NGUON_DATA_DIR="${CENTRE_DIR:-var/centre}" NGUON_CENTRAL_UNIT_CODE=00 NGUON_CENTRAL_NAME="Trung ương" "$@"; }

centre "$NGUON" migrate --no-input -v0
centre "$NGUON" demo --centre
centre "$NGUON" serve --host 127.0.0.1 --port "$PORT" --with-worker &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 60); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/accounts/login/" && break
  sleep 0.5
done
# The province (the default data directory, var/) pairs once; later runs find the link and leave it.
if "$NGUON" shell -c "from nguon.central.models import Link; raise SystemExit(0 if Link.objects.parents().exists() else 1)"; then
  echo "The province is already paired with a parent."
else
  code=$(centre "$NGUON" central_pair --code-for "Tỉnh Đồng Nai")
  "$NGUON" central_pair "http://127.0.0.1:$PORT" "$code"
fi
echo "Centre: http://127.0.0.1:$PORT (tw.bientap, tw.pheduyet). Ctrl+C stops it."
wait $server
