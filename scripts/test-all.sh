#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine, starts a throwaway PostgreSQL,
# runs the type check and the whole test suite, stops PostgreSQL, and prints a closing
# "N passed, N failed" line that CI reads.
set -uo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} with apt-get..."
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "apt-get install ${missing[*]} failed"; echo "0 passed, 1 failed"; exit 1; }
fi

echo "Installing node packages (npm ci)..."
npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }

# A throwaway PostgreSQL cluster for the tests that need one; stopped on exit whatever happens.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDATA=$(mktemp -d /tmp/retrial-pgdata.XXXXXX)
PGPORT=${RETRIAL_TEST_PG_PORT:-55432}
stop_pg() { $SUDO runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1; rm -rf "$PGDATA"; }
trap stop_pg EXIT
chown postgres:postgres "$PGDATA" 2>/dev/null || $SUDO chown postgres:postgres "$PGDATA"
if $SUDO runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null \
  && $SUDO runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA" start >/dev/null \
  && psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "create database retrial_test" >/dev/null; then
  export RETRIAL_TEST_PG="postgres://postgres@127.0.0.1:$PGPORT/retrial_test"
  echo "PostgreSQL ready at $RETRIAL_TEST_PG"
else
  echo "PostgreSQL could not be started; tests that need it will fail"
fi

extra_failed=0
echo "Type check (tsc)..."
npx tsc --noEmit -p . || { echo "type check failed"; extra_failed=1; }

RESULTS=$(mktemp /tmp/retrial-vitest.XXXXXX.json)
npx vitest run --reporter=default --reporter=json --outputFile="$RESULTS"
status=$?
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = Number(process.argv[2]);
  try {
    const report = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    passed = report.numPassedTests; failed += report.numFailedTests;
    if (report.numFailedTestSuites && !report.numFailedTests) failed += report.numFailedTestSuites;
  } catch { failed += 1; }
  console.log(`${passed} passed, ${failed} failed`);
' "$RESULTS" "$extra_failed"
rm -f "$RESULTS"
[ $status -eq 0 ] && [ $extra_failed -eq 0 ]
