package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// setupHint is what a developer has to run when a server binary is missing.
const setupHint = "run scripts/setup.sh (make setup)"

// RepoRoot returns the repository root: the nearest directory at or above the
// working directory (the package directory under go test) holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testenv: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Unavailable ends the test because a tool the test needs is missing: it
// fails when the CI environment variable is set and skips otherwise.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so this is a failure, not a skip)", msg)
	}
	t.Skip(msg)
}

// process is one server process. It runs in its own process group with
// stdout and stderr appended to logPath.
type process struct {
	name    string
	path    string
	args    []string
	env     []string // nil: inherit
	logPath string

	cmd     *exec.Cmd
	done    chan struct{} // closed when the wait goroutine has reaped cmd
	waitErr error         // valid after done is closed
}

// start starts the process. The goroutine it starts exits when the process
// does; stop waits for it.
func (p *process) start() error {
	if p.cmd != nil {
		return fmt.Errorf("%s is already running", p.name)
	}
	logFile, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s log: %w", p.name, err)
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdout = logFile // an *os.File is handed to the child: no copying goroutine
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return nil
}

// exited reports whether a started process has exited on its own.
func (p *process) exited() bool {
	if p.cmd == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, waits up to grace for the process
// to exit, then kills the group. It reports whether the exit was graceful.
// Stopping a stopped process does nothing.
func (p *process) stop(grace time.Duration) (graceful bool) {
	if p.cmd == nil {
		return true
	}
	defer func() { p.cmd = nil }()
	signalGroup(p.cmd, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		// Kill anything left in the group (the servers do not fork, but be sure).
		signalGroup(p.cmd, syscall.SIGKILL)
		return true
	case <-timer.C:
		signalGroup(p.cmd, syscall.SIGKILL)
		<-p.done
		return false
	}
}

// logTail returns the last n lines of the log.
func (p *process) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", p.logPath, err)
	}
	data = bytes.TrimRight(data, "\n")
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// waitFor polls ready until it returns nil, the process exits or timeout
// passes.
func (p *process) waitFor(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited: %v", p.name, p.waitErr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %w", p.name, timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// errNotFound reports a missing server binary.
var errNotFound = errors.New("not found")

// findBinary returns the first existing executable among PATH and the given
// fallbacks.
func findBinary(name string, fallbacks ...string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	for _, path := range fallbacks {
		if info, err := os.Stat(path); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s %w in PATH or %v", name, errNotFound, fallbacks)
}
