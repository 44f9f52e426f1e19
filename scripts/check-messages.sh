#!/usr/bin/env bash
# Check that every translatable string in the code and templates has a Vietnamese translation.
#
# Usage (from anywhere in the repository):
#   scripts/check-messages.sh            check only; the catalogue on disk is left exactly as it was
#   scripts/check-messages.sh --update   also keep the refreshed nguon/locale/vi/LC_MESSAGES/django.po,
#                                        so the new entries can be translated there
#
# It re-extracts the messages into the vi catalogue (makemessages, same options as the translators use),
# asks msgfmt for statistics, lists any untranslated or fuzzy entry, then restores the original file.
# Exit status: 0 when complete, 1 when some entry is untranslated or fuzzy, 2 when a tool is missing or fails.
# Needs GNU gettext (msgfmt, msgattrib) and the project venv (.venv/bin/nguon, or set NGUON=/path/to/nguon).
#
# After translating, compile with: cd nguon && ../.venv/bin/nguon compilemessages
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NGUON="${NGUON:-$ROOT/.venv/bin/nguon}"
PO="$ROOT/nguon/locale/vi/LC_MESSAGES/django.po"
UPDATE=0

case "${1:-}" in
  "") ;;
  --update) UPDATE=1 ;;
  -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "check-messages: unknown option: $1 (see --help)" >&2; exit 2 ;;
esac

for tool in msgfmt msgattrib; do
  command -v "$tool" >/dev/null || { echo "check-messages: $tool not found: install GNU gettext" >&2; exit 2; }
done
[ -x "$NGUON" ] || { echo "check-messages: $NGUON not found: run make setup" >&2; exit 2; }
[ -f "$PO" ] || { echo "check-messages: $PO is missing" >&2; exit 2; }

BACKUP="$(mktemp "${TMPDIR:-/tmp}/check-messages.XXXXXX")"
cp -p "$PO" "$BACKUP"
restore() {
  if [ "$UPDATE" = 1 ]; then rm -f "$BACKUP"; else mv -f "$BACKUP" "$PO"; fi
}
trap restore EXIT
trap 'exit 2' INT TERM

# Run from nguon/ so that only the project is scanned (not .venv, bench or docs).
if ! (cd "$ROOT/nguon" && "$NGUON" makemessages -l vi --no-location --no-wrap --no-obsolete --ignore "*/tests/*" -v0); then
  echo "check-messages: makemessages failed" >&2
  exit 2
fi

STATS="$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$PO" 2>&1)" || {
  echo "check-messages: msgfmt --check failed:" >&2
  echo "$STATS" >&2
  exit 2
}
echo "vi: $STATS"

if grep -Eq 'untranslated|fuzzy' <<<"$STATS"; then
  echo >&2
  echo "Untranslated or fuzzy entries (translate them in nguon/locale/vi/LC_MESSAGES/django.po):" >&2
  # Both lists, without the header entry.
  { LC_ALL=C msgattrib --untranslated --no-wrap --no-location "$PO"
    LC_ALL=C msgattrib --only-fuzzy --no-wrap --no-location "$PO"; } | grep -E '^msgid ' | grep -v '^msgid ""$' >&2 || true
  [ "$UPDATE" = 1 ] || echo "Run scripts/check-messages.sh --update to keep the refreshed catalogue." >&2
  exit 1
fi
