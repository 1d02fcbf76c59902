package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/internal/config"
)

func TestPrecedence(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"CITYTWIN_HTTP_ADDR":         "0.0.0.0:9",
		"CITYTWIN_BATCH_SIZE":        "42",
		"CITYTWIN_INFLUX_TOKEN_FILE": secret,
		"CITYTWIN_MQTT_TOPICS":       "a/#, b/+",
		"CITYTWIN_FLUSH":             "250ms",
	}
	s := config.NewSet("x", func(k string) string { return env[k] })
	var addr, token, url string
	var batch int
	var topics []string
	var flush time.Duration
	s.String(&addr, "http-addr", "127.0.0.1:8080", "")
	s.String(&url, "influx-url", "http://default", "")
	s.Int(&batch, "batch-size", 5000, "")
	s.Secret(&token, "influx-token", "")
	s.Strings(&topics, "mqtt-topics", []string{"ngsi/#"}, "")
	s.Duration(&flush, "flush", time.Second, "")
	if err := s.Parse([]string{"-http-addr", "127.0.0.1:7"}); err != nil {
		t.Fatal(err)
	}
	if addr != "127.0.0.1:7" || url != "http://default" || batch != 42 || token != "s3cret" ||
		strings.Join(topics, " ") != "a/# b/+" || flush != 250*time.Millisecond {
		t.Errorf("got addr=%s url=%s batch=%d token=%q topics=%v flush=%s", addr, url, batch, token, topics, flush)
	}
}

func TestBadEnvNamesVariable(t *testing.T) {
	s := config.NewSet("x", func(k string) string { return map[string]string{"CITYTWIN_BATCH_SIZE": "many"}[k] })
	var n int
	s.Int(&n, "batch-size", 1, "")
	err := s.Parse(nil)
	if err == nil || !strings.Contains(err.Error(), "CITYTWIN_BATCH_SIZE") || !strings.Contains(err.Error(), "integer") {
		t.Errorf("Parse = %v, want an error naming CITYTWIN_BATCH_SIZE and the rule", err)
	}
}
