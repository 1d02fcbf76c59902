package testenv

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// DynsecAdmin are the credentials of the dynamic-security plugin's admin
// that WithDynsec creates.
const (
	DynsecAdmin         = "dynsec-admin"
	DynsecAdminPassword = "dynsec-admin-password"
)

// WithDynsec loads Mosquitto's dynamic-security plugin (Debian's mosquitto
// package ships it) with a fresh configuration holding only the admin
// DynsecAdmin, created by mosquitto_ctrl. Anonymous clients stay allowed
// at the listener; the plugin's anonymous group decides what they may do
// (nothing until it is set).
func WithDynsec(t testing.TB) MosquittoOption {
	t.Helper()
	plugins, _ := filepath.Glob("/usr/lib/*/mosquitto_dynamic_security.so")
	if len(plugins) == 0 {
		Unavailable(t, "testenv: Mosquitto's dynamic-security plugin is not installed: %s", setupHint)
	}
	ctrl, err := findBinary("mosquitto_ctrl", "/usr/bin/mosquitto_ctrl")
	if err != nil {
		Unavailable(t, "testenv: %v: %s", err, setupHint)
	}
	file := filepath.Join(t.TempDir(), "dynamic-security.json")
	if out, err := exec.Command(ctrl, "dynsec", "init", file, DynsecAdmin, DynsecAdminPassword).CombinedOutput(); err != nil {
		t.Fatalf("testenv: mosquitto_ctrl dynsec init: %v: %s", err, out)
	}
	return WithMosquittoConfig(
		"plugin "+plugins[0],
		"plugin_opt_config_file "+file,
		"allow_anonymous true",
	)
}
