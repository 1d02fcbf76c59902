package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// consumer is a running consumer process: citytwin serve or the baseline.
type consumer struct {
	name     string
	clientID string // MQTT client id, to discard its session after the stop
	logPath  string
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	httpAddr string // citytwin only: where /readyz answers
}

// startConsumer starts the named consumer with its output appended to a log
// in dir, and waits until it is ready: citytwin's /readyz answers 200 (the
// caller then probes both through the broker and InfluxDB). citytwin's
// provisioning API takes adminToken.
func startConsumer(ctx context.Context, cfg *Config, name, clientID, dir, adminToken string) (*consumer, error) {
	c := &consumer{name: name, clientID: clientID, logPath: filepath.Join(dir, name+".log")}
	var cmd *exec.Cmd
	switch name {
	case Citytwin:
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		c.httpAddr = addr
		dataDir, err := os.MkdirTemp(dir, "citytwin-data-")
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(cfg.CitytwinPath, "serve")
		// The environment is inherited, so CITYTWIN_* tuning variables
		// (CITYTWIN_BATCH_SIZE, …) reach serve; these override it.
		cmd.Env = append(os.Environ(),
			"CITYTWIN_MQTT_URL="+cfg.MQTTURL,
			"CITYTWIN_MQTT_CLIENT_ID="+clientID,
			"CITYTWIN_INFLUX_URL="+cfg.InfluxURL,
			"CITYTWIN_INFLUX_TOKEN="+cfg.InfluxToken,
			"CITYTWIN_INFLUX_ORG="+cfg.InfluxOrg,
			"CITYTWIN_INFLUX_BUCKET="+cfg.InfluxBucket,
			"CITYTWIN_DATA_DIR="+dataDir,
			"CITYTWIN_HTTP_ADDR="+addr,
			"CITYTWIN_ADMIN_TOKEN="+adminToken,
		)
	case Baseline:
		if cfg.BaselinePath == "" {
			return nil, errors.New("baseline: no -baseline program given (scripts/bench.sh builds bin/citytwin-baseline)")
		}
		cmd = exec.Command(cfg.BaselinePath,
			"-mqtt-url", cfg.MQTTURL, "-topic", "ngsi/#", "-qos", "1",
			"-clean="+strconv.FormatBool(cfg.BaselineClean), "-client-id", clientID,
			"-influx-url", cfg.InfluxURL, "-token", cfg.InfluxToken,
			"-org", cfg.InfluxOrg, "-bucket", cfg.InfluxBucket)
	default:
		return nil, fmt.Errorf("unknown consumer %q (want %s or %s)", name, Citytwin, Baseline)
	}
	logFile, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	c.cmd = cmd
	c.done = make(chan struct{})
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	if name == Citytwin {
		if err := c.waitFor(ctx, 60*time.Second, c.readyz); err != nil {
			c.stop(5 * time.Second)
			return nil, err
		}
	}
	return c, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (c *consumer) pid() int { return c.cmd.Process.Pid }

func (c *consumer) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *consumer) readyz() error {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + c.httpAddr + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}

// waitFor polls ready every 100 ms until it succeeds, the consumer exits,
// timeout passes or ctx ends; errors carry the tail of the consumer's log.
func (c *consumer) waitFor(ctx context.Context, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		switch {
		case err == nil:
			return nil
		case c.exited():
			return fmt.Errorf("%s exited during startup (%v); last lines of %s:\n%s", c.name, c.waitErr, c.logPath, c.logTail(20))
		case time.Now().After(deadline):
			return fmt.Errorf("%s not ready after %v: %v; last lines of %s:\n%s", c.name, timeout, err, c.logPath, c.logTail(20))
		case ctx.Err() != nil:
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the consumer's process group, waits up to grace,
// then kills the group. It reports an error when the consumer had to be
// killed or exited with an error.
func (c *consumer) stop(grace time.Duration) error {
	if c == nil || c.cmd == nil {
		return nil
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.done:
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL) // anything left in the group
		if c.waitErr != nil {
			return fmt.Errorf("%s exited with %v; last lines of %s:\n%s", c.name, c.waitErr, c.logPath, c.logTail(10))
		}
		return nil
	case <-timer.C:
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", c.name, grace)
	}
}

func (c *consumer) logTail(n int) string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.ReplaceAll(string(bytes.Join(lines, []byte("\n"))), "\n", "\n  ")
}

// procStat reads the consumer's CPU time and memory from /proc.
func (c *consumer) procStat() (ProcStat, error) {
	dir := "/proc/" + strconv.Itoa(c.pid())
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return ProcStat{}, err
	}
	var ps ProcStat
	if ps.CPUTicks, err = ParseStatCPU(string(stat)); err != nil {
		return ps, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return ps, err
	}
	ps.RSSKB, ps.HWMKB, err = ParseStatusMem(string(status))
	return ps, err
}

// resetPeak resets VmHWM to the current RSS (Linux ≥ 4.0), so that a step's
// peak is its own; errors are ignored (the peak is then since start).
func (c *consumer) resetPeak() {
	_ = os.WriteFile("/proc/"+strconv.Itoa(c.pid())+"/clear_refs", []byte("5"), 0)
}

// DiscardSession removes a stopped consumer's persistent session from the
// broker (a clean-session connect with its client id), so the broker stops
// queueing messages for it.
func DiscardSession(brokerURL, clientID string) error {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(brokerURL).SetClientID(clientID).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second))
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		return fmt.Errorf("discard the session of %s: %w", clientID, tok.Error())
	}
	c.Disconnect(100)
	return nil
}
