#!/usr/bin/env bash
# run.sh starts the whole citytwin stack on this machine for a look around:
# InfluxDB 1.8.10 (project-local build) on a loopback port, `citytwin serve`
# with its embedded MQTT broker, and the sensor simulator. State lives in
# .run/ (git-ignored); Ctrl-C stops everything. `make run` calls it after
# scripts/setup.sh and the build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${CITYTWIN_RUN_DIR:-$root/.run}"
bin="$root/bin/citytwin"
mkdir -p "$state/influxdb" "$state/citytwin"

# free_port PREFERRED: the preferred port when free, else the next free one.
free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

influx_port=$(free_port "${CITYTWIN_RUN_INFLUX_PORT:-8086}")
rpc_port=$(free_port $((influx_port + 2)))
mqtt_port=$(free_port "${CITYTWIN_RUN_MQTT_PORT:-1883}")
http_port=$(free_port "${CITYTWIN_RUN_HTTP_PORT:-8080}")

pids=()
cleanup() {
	trap - EXIT INT TERM
	echo
	echo "stopping…"
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
}
trap cleanup EXIT INT TERM

# shellcheck source=scripts/influxd.sh
. "$root/scripts/influxd.sh"
start_influxd "$root" "$state/influxdb" "$influx_port" "$rpc_port"
pids+=("$influxd_pid")
for _ in $(seq 1 120); do
	if curl -fsS -o /dev/null "http://127.0.0.1:$influx_port/ping" 2>/dev/null; then break; fi
	sleep 0.5
done
curl -fsS -o /dev/null "http://127.0.0.1:$influx_port/ping" || {
	echo "InfluxDB did not start; see $state/influxdb/influxd.log" >&2
	exit 1
}

export CITYTWIN_HTTP_ADDR="127.0.0.1:$http_port"
export CITYTWIN_MQTT_LISTEN="127.0.0.1:$mqtt_port"
export CITYTWIN_INFLUX_URL="http://127.0.0.1:$influx_port"
export CITYTWIN_INFLUX_BUCKET="${CITYTWIN_INFLUX_BUCKET:-citytwin/autogen}"
export CITYTWIN_DATA_DIR="$state/citytwin"
"$bin" serve &
pids+=($!)
for _ in $(seq 1 60); do
	if curl -fsS -o /dev/null "http://$CITYTWIN_HTTP_ADDR/readyz" 2>/dev/null; then break; fi
	sleep 0.5
done

"$bin" simulate -sim-mqtt-url "tcp://127.0.0.1:$mqtt_port" -sim-sensors "${CITYTWIN_SIM_SENSORS:-200}" \
	-sim-rate "${CITYTWIN_SIM_RATE:-50}" >"$state/simulate.log" 2>&1 &
pids+=($!)

cat <<MSG

citytwin is running (Ctrl-C stops everything):
  metrics      http://$CITYTWIN_HTTP_ADDR/metrics
  readiness    http://$CITYTWIN_HTTP_ADDR/readyz
  MQTT broker  tcp://127.0.0.1:$mqtt_port   (publish NGSI entities on ngsi/{tenant}/…)
  errors       subscribe to citytwin/errors/# to see rejected messages
  InfluxDB     http://127.0.0.1:$influx_port  database citytwin, e.g.
               curl -G http://127.0.0.1:$influx_port/query --data-urlencode db=citytwin \\
                 --data-urlencode "q=SELECT count(*) FROM NoiseLevelObserved"
  simulator    200 sensors at 50 msg/s (log: $state/simulate.log)

MSG
wait -n "${pids[@]}"
