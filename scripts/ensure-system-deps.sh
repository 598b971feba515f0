#!/usr/bin/env bash
# Installs the Debian packages the integration tests need: chromium (the browser test) and redis-server
# (the Celery test). Idempotent and quiet: does nothing when both are there.
# Not root (or no apt-get): says what is missing and exits 0, and the tests that need it are skipped with
# that reason — except under CI=true, where a missing dependency is an error here and in the tests.
set -uo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0

in_ci=false
[ "${CI:-}" = "true" ] && in_ci=true

give_up() {
  echo "ensure-system-deps: $1 — missing: ${missing[*]} (install with: apt-get install -y ${missing[*]})." >&2
  if $in_ci; then exit 1; fi
  echo "ensure-system-deps: the tests that need them will be skipped." >&2
  exit 0
}

[ "$(id -u)" -eq 0 ] || give_up "not root, so not installing"
command -v apt-get >/dev/null 2>&1 || give_up "no apt-get on this machine"

echo "ensure-system-deps: installing ${missing[*]} (apt-get, about a minute)..."
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  tail -20 "$log" >&2
  rm -f "$log"
  give_up "apt-get failed"
fi
rm -f "$log"
echo "ensure-system-deps: installed ${missing[*]}."
