#!/usr/bin/env bash
# Installs the system programs Tidewatch's tests use, from Debian's packages (and one from
# PyPI), when any is missing. Safe to run again: it does nothing when everything is there.
#   gpsdecode (gpsd-clients): the AIS oracle for conformance and differential tests.
#   mosquitto: the external MQTT broker the ingest tests run against.
#   victoria-metrics: the time-series database (InfluxDB v2 write API) tsdb tests write to.
#   rabbitmq-server: the clustered broker (three nodes) the bus test kills a node of;
#   nats-server: the other clustered engine, measured by the bus_failover benchmark.
#   postgresql-15: the consoles' shared store; the tests start their own throwaway server.
#   chromium, chromedriver (chromium-driver): the browser the console's end-to-end test drives.
#   pdftotext (poppler-utils): reads back the interception report's PDF as a PDF reader would.
#   schemathesis (PyPI, in target/tools/schemathesis): fuzzes the console's API against its
#     OpenAPI description.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
ST_VENV=target/tools/schemathesis

need=()
command -v gpsdecode >/dev/null 2>&1 || need+=(gpsd-clients)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if [ ! -x "$ST_VENV/bin/st" ]; then
  command -v python3 >/dev/null 2>&1 || need+=(python3)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "tests/install-deps.sh: installing ${need[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi

if [ ! -x "$ST_VENV/bin/st" ]; then
  echo "tests/install-deps.sh: installing schemathesis $SCHEMATHESIS_VERSION into $ST_VENV" >&2
  rm -rf "$ST_VENV"
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
