#!/usr/bin/env bash
# setup.sh installs what citytwin's tests need on a Debian 12 machine:
#   - Debian packages: mosquitto (the real broker for integration tests),
#     mosquitto-clients and jq (the vendor guide's examples, run by a test),
#     chromium (the dashboard's browser test, driven by playwright-core),
#     libgeos-dev (cgo build of go-geos), docker-compose (only to validate
#     docker-compose.yml; no Docker engine is needed);
#   - Node.js 20.19+ and npm for the dashboard build (checked; Debian's
#     nodejs/npm installed when absent);
#   - InfluxDB 1.8.10 built from source into .tools/bin/influxd.
# It is idempotent and fast when everything is present: it only checks, and
# runs apt-get update / go install only for what is missing.
set -euo pipefail

start=$(date +%s.%N)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_bin="$root/.tools/bin"
influxdb_version="1.8.10"
debian_packages=(mosquitto mosquitto-clients libgeos-dev docker-compose curl jq chromium)

# mosquitto lives in /usr/sbin, which is missing from some non-root PATHs.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin" ;; esac
export DEBIAN_FRONTEND=noninteractive

installed=()

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo --preserve-env=DEBIAN_FRONTEND "$@"
	else
		echo "setup: need root (or sudo) to run: $*" >&2
		exit 1
	fi
}

package_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

# The Debian package starts a system broker on port 1883; tests start their
# own brokers on free ports, and a stray system broker only confuses people.
stop_system_mosquitto() {
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		as_root systemctl disable --now mosquitto >/dev/null 2>&1 || true
	elif command -v service >/dev/null 2>&1; then
		as_root service mosquitto stop >/dev/null 2>&1 || true
	fi
}

install_debian_packages() {
	local missing=() pkg
	for pkg in "${debian_packages[@]}"; do
		package_installed "$pkg" || missing+=("$pkg")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	echo "setup: apt-get install ${missing[*]}"
	as_root apt-get update -qq
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
	for pkg in "${missing[@]}"; do
		[ "$pkg" = mosquitto ] && stop_system_mosquitto
		installed+=("$pkg (apt)")
	done
}

# influxd built by `go install` reports "vunknown" unless the version is set
# with -ldflags, so the module version recorded in the binary is checked too.
influxd_is_current() {
	local bin="$tools_bin/influxd"
	[ -x "$bin" ] || return 1
	"$bin" version 2>/dev/null | grep -q "v$influxdb_version" && return 0
	go version -m "$bin" 2>/dev/null |
		awk -v want="v$influxdb_version" '$1 == "mod" && $2 == "github.com/influxdata/influxdb" && $3 == want { ok = 1 } END { exit !ok }'
}

install_influxd() {
	if ! command -v go >/dev/null 2>&1; then
		echo "setup: Go is required (go.mod says which version)" >&2
		exit 1
	fi
	influxd_is_current && return 0
	echo "setup: building influxd $influxdb_version into $tools_bin (about 2 minutes)"
	mkdir -p "$tools_bin"
	GOBIN="$tools_bin" go install \
		-ldflags "-X main.version=$influxdb_version -X main.branch=v$influxdb_version" \
		"github.com/influxdata/influxdb/cmd/influxd@v$influxdb_version"
	installed+=("influxd $influxdb_version ($tools_bin/influxd)")
}

# The dashboard (web/ui) is built with Vite, which needs Node.js 20.19+
# and npm. Debian 12's own nodejs is 18: install it from Debian only when
# nothing is there, and say what is needed when the version is too old.
check_node() {
	if ! command -v npm >/dev/null 2>&1; then
		echo "setup: apt-get install nodejs npm"
		as_root apt-get update -qq
		as_root apt-get install -y -qq --no-install-recommends nodejs npm
		installed+=("nodejs npm (apt)")
	fi
	local v
	v=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
	if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' 2>/dev/null; then
		echo "setup: the dashboard needs Node.js 20.19 or newer (found $v); install it (e.g. from NodeSource) and rerun" >&2
		exit 1
	fi
}

install_debian_packages
check_node
install_influxd

elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
if [ "${#installed[@]}" -eq 0 ]; then
	echo "setup: everything present, nothing installed (${elapsed} s)"
else
	echo "setup: installed in ${elapsed} s:"
	printf '  %s\n' "${installed[@]}"
fi
