#!/usr/bin/env bash
# run.sh starts the whole citytwin stack on this machine for a look around:
# InfluxDB 1.8.10 (project-local build) on a loopback port, `citytwin serve`
# with its embedded MQTT broker, and the sensor simulator. State lives in
# .run/ (git-ignored); Ctrl-C stops everything. `make run` calls it after
# scripts/setup.sh and the build.
#
# Two simulators run: the NGSI fleet (tenant demo), and a smaller fleet of
# IoT Agent devices (tenant vendors, UltraLight and JSON) that simulate
# provisions through the API with serve's admin token: CITYTWIN_ADMIN_TOKEN
# when set, else the one serve generates into its data directory. The
# second one is an extra: if it fails, its log says why and the rest runs on.
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

pids=()      # stopping any of these stops everything
extra_pids=() # stopped at the end, not waited for
stopping=
cleanup() {
	stopping=1
	trap - EXIT INT TERM
	echo
	echo "stopping…"
	all=("${pids[@]}" "${extra_pids[@]}")
	for ((i = ${#all[@]} - 1; i >= 0; i--)); do
		kill -TERM "${all[i]}" 2>/dev/null || true
		wait "${all[i]}" 2>/dev/null || true
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
# serve's log goes to a file, so that its lines (every alert opened, …) do
# not scroll the addresses below away; warnings and errors are also shown.
log="$state/citytwin.log"
: >"$log"
# serve_stopped says so with the end of its log.
serve_stopped() {
	echo "citytwin serve stopped; the end of $log:" >&2
	tail -n 30 "$log" >&2
}
"$bin" serve >>"$log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
# Ends with serve (--pid).
tail -n 0 -F --pid="$serve_pid" "$log" 2>/dev/null | grep --line-buffered -E 'level=(WARN|ERROR)' &
for _ in $(seq 1 60); do
	if curl -fsS -o /dev/null "http://$CITYTWIN_HTTP_ADDR/readyz" 2>/dev/null; then break; fi
	if ! kill -0 "$serve_pid" 2>/dev/null; then
		serve_stopped
		exit 1
	fi
	sleep 0.5
done

"$bin" simulate -sim-mqtt-url "tcp://127.0.0.1:$mqtt_port" -sim-sensors "${CITYTWIN_SIM_SENSORS:-200}" \
	-sim-rate "${CITYTWIN_SIM_RATE:-50}" >"$state/simulate.log" 2>&1 &
pids+=($!)

# The vendors' devices. CITYTWIN_ADMIN_TOKEN, when set, wins over the file.
vendor_sensors="${CITYTWIN_SIM_VENDOR_SENSORS:-60}"
CITYTWIN_ADMIN_TOKEN_FILE="$CITYTWIN_DATA_DIR/admin-token" \
	"$bin" simulate -sim-mqtt-url "tcp://127.0.0.1:$mqtt_port" -sim-protocol ul,json \
	-sim-tenant vendors -sim-seed 2 -sim-sensors "$vendor_sensors" -sim-rate "${CITYTWIN_SIM_VENDOR_RATE:-15}" \
	-sim-provision-url "http://$CITYTWIN_HTTP_ADDR" >"$state/simulate-vendors.log" 2>&1 &
extra_pids+=($!)

if [ -n "${CITYTWIN_ADMIN_TOKEN:-}" ]; then
	token_hint='$CITYTWIN_ADMIN_TOKEN'
else
	token_hint="in $CITYTWIN_DATA_DIR/admin-token"
fi
cat <<MSG

citytwin is running (Ctrl-C stops everything):
  live map     http://$CITYTWIN_HTTP_ADDR/   (the dashboard; tenants demo and vendors)
  NGSI-LD      http://$CITYTWIN_HTTP_ADDR/ngsi-ld/v1/entities?type=NoiseLevelObserved  (header NGSILD-Tenant: demo)
  metrics      http://$CITYTWIN_HTTP_ADDR/metrics
  readiness    http://$CITYTWIN_HTTP_ADDR/readyz
  MQTT broker  tcp://127.0.0.1:$mqtt_port   (publish NGSI entities on ngsi/{tenant}/…)
  errors       subscribe to citytwin/errors/# to see rejected messages
  InfluxDB     http://127.0.0.1:$influx_port  database citytwin, e.g.
               curl -G http://127.0.0.1:$influx_port/query --data-urlencode db=citytwin \\
                 --data-urlencode "q=SELECT count(*) FROM NoiseLevelObserved"
  simulator    ${CITYTWIN_SIM_SENSORS:-200} NGSI sensors at ${CITYTWIN_SIM_RATE:-50} msg/s, tenant demo (log: $state/simulate.log)
  vendors      $vendor_sensors IoT Agent devices (UltraLight, JSON), tenant vendors, provisioned through
               http://$CITYTWIN_HTTP_ADDR/iot/devices; its irrigation controllers take open_valve
               (log, with a curl example: $state/simulate-vendors.log)
  admin token  $token_hint (the provisioning API's Authorization: Bearer)
  log          $log (warnings and errors show here too)

MSG
status=0
wait -n "${pids[@]}" || status=$?
if [ -z "$stopping" ] && ! kill -0 "$serve_pid" 2>/dev/null; then
	serve_stopped
fi
exit "$status"
