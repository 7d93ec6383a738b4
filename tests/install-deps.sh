#!/usr/bin/env bash
# Installs the system programs Tidewatch's tests use, from Debian's packages, when any is
# missing. Safe to run again: it does nothing when everything is there.
#   gpsdecode (gpsd-clients): the AIS oracle for conformance and differential tests.
#   mosquitto: the external MQTT broker the ingest tests run against.
#   victoria-metrics: the time-series database (InfluxDB v2 write API) tsdb tests write to.
set -euo pipefail

need=()
command -v gpsdecode >/dev/null 2>&1 || need+=(gpsd-clients)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "tests/install-deps.sh: installing ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends "${need[@]}"
