//go:build linux

package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/citytwin/citytwin/internal/testenv"
)

// TestVendorGuide runs every shell block of docs/vendors.md, in order and
// as written, against a running citytwin (embedded broker, real InfluxDB),
// and checks what the guide says they print: a vendor following only the
// guide provisions, publishes UltraLight and JSON, sees its error, drives
// a valve by command and finds its data in the twin.
func TestVendorGuide(t *testing.T) {
	for _, tool := range []string{"curl", "jq", "mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s is not installed (make setup installs it)", tool)
		}
	}
	guide, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "vendors.md"))
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(guide), -1) {
		script.WriteString(m[1])
	}
	db := testenv.StartInfluxDB(t)
	ct := startCitytwin(t, nil, db, "citytwin-guide", "CITYTWIN_ADMIN_TOKEN="+testAdminToken)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(ct.MQTTURL, "tcp://"))
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "CITYTWIN=http://"+ct.HTTPAddr, "MQTT_HOST="+host, "MQTT_PORT="+port, "ADMIN_TOKEN="+testAdminToken)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the guide's commands failed: %v\n%s", err, out)
	}
	t.Logf("output:\n%s", out)
	for _, want := range []string{
		"out_of_range: ", "soilMoistureVwc", // the bad measure's error
		`"measuresAccepted": 2`, `"measuresRejected": 1`, // the device record
		"probe7@open_valve|10", "\nOK\n", // the command and its completion
		"\n0.29\n", // the latest value in the twin
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the guide's output lacks %q", want)
		}
	}
}
