//go:build ui && linux

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/citytwin/citytwin/internal/testenv"
)

// artifactsDir is where a browser test saves its screenshots and
// result.json: $CITYTWIN_ARTIFACTS/name, emptied first, else the test's
// temporary directory.
func artifactsDir(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("CITYTWIN_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runBrowserScript runs `node script` in web/ui with env added to the
// process's environment (plus CHROMIUM and CITYTWIN_ARTIFACTS), logs its
// output line by line and fails the test when it fails or outlives
// timeout.
func runBrowserScript(t *testing.T, node, chromium, uiDir, script, artifacts string, timeout time.Duration, env ...string) {
	t.Helper()
	run, stop := context.WithTimeout(t.Context(), timeout)
	defer stop()
	cmd := exec.CommandContext(run, node, script)
	cmd.Dir = uiDir
	cmd.Env = append(append(os.Environ(), "CHROMIUM="+chromium, "CITYTWIN_ARTIFACTS="+artifacts), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	err = cmd.Wait()
	t.Logf("screenshots and result.json: %s", artifacts)
	if err != nil {
		t.Errorf("web/ui/%s: %v (see the lines above and %s)", script, err, filepath.Join(artifacts, "result.json"))
	}
}

// browserTools finds Node.js, Chromium and the built dashboard, as
// TestDashboard does; without them the test skips, or fails when CI is set.
func browserTools(t *testing.T) (node, chromium, uiDir string) {
	t.Helper()
	uiDir = filepath.Join(testenv.RepoRoot(t), "web", "ui")
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "node not found: the browser tests need Node.js 20.19+ (apt-get install nodejs npm, then make ui)")
	}
	if chromium = os.Getenv("CHROMIUM"); chromium == "" {
		if chromium, err = exec.LookPath("chromium"); err != nil {
			testenv.Unavailable(t, "chromium not found: the browser tests need Debian's chromium package (apt-get install chromium), or CHROMIUM=/path/to/chrome")
		}
	}
	for _, need := range []string{"node_modules/playwright-core/package.json", "dist/index.html"} {
		if _, err := os.Stat(filepath.Join(uiDir, need)); err != nil {
			testenv.Unavailable(t, "web/ui/%s is missing: build the dashboard first (make ui)", need)
		}
	}
	return node, chromium, uiDir
}
