package testenv_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/citytwin/citytwin/internal/testenv"
)

// TestComposeConfig validates docker-compose.yml with `docker-compose config`,
// which needs no Docker engine, and checks the wiring citytwin relies on.
func TestComposeConfig(t *testing.T) {
	compose, err := exec.LookPath("docker-compose")
	if err != nil {
		testenv.Unavailable(t, "docker-compose not found: run scripts/setup.sh (make setup)")
	}
	root := testenv.RepoRoot(t)
	cmd := exec.CommandContext(t.Context(), compose, "-f", "docker-compose.yml", "config")
	cmd.Dir = root
	// Check the defaults, not whatever the developer exported.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CITYTWIN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, stderr.String())
	}
	config := string(out)
	for _, want := range []string{
		"\n  mosquitto:\n",
		"\n  influxdb:\n",
		"\n  citytwin:\n",
		"image: eclipse-mosquitto:2",
		"image: influxdb:2.7",
		"/deploy/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro",
		"mosquitto-data:/mosquitto/data",
		"DOCKER_INFLUXDB_INIT_MODE: setup",
		"DOCKER_INFLUXDB_INIT_ORG: citytwin",
		"DOCKER_INFLUXDB_INIT_BUCKET: citytwin",
		"DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: change-me-token",
		"CITYTWIN_HTTP_ADDR: :8080",
		"CITYTWIN_MQTT_URL: tcp://mosquitto:1883",
		"CITYTWIN_INFLUX_URL: http://influxdb:8086",
		"CITYTWIN_INFLUX_TOKEN: change-me-token",
		"CITYTWIN_INFLUX_ORG: citytwin",
		"CITYTWIN_INFLUX_BUCKET: citytwin",
		"CITYTWIN_DATA_DIR: /var/lib/citytwin",
		"citytwin-data:/var/lib/citytwin",
		"condition: service_healthy",
	} {
		if !strings.Contains(config, want) {
			t.Errorf("docker-compose config lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("docker-compose config:\n%s", config)
	}
}
