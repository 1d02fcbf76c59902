// Package testenv starts real servers for integration tests: Mosquitto (the
// Debian package) and InfluxDB 1.8.10 (built by scripts/setup.sh into
// .tools/bin). Each server runs in its own process group on free loopback
// ports with its data in t.TempDir(), and is killed in t.Cleanup, also when
// the test panics; on Linux the child is also killed when the test binary
// dies.
//
// When a binary is missing, tests are skipped with a hint to run
// scripts/setup.sh, except when the CI environment variable is set: then they
// fail, so CI never passes by skipping.
//
// Concurrency: a server value belongs to the test that started it. Its methods
// (Stop, Start, Restart, queries) may call t.Fatal and must be called from
// that test's goroutine. Stop and the cleanup wait for the process to exit,
// so no goroutine outlives the test.
package testenv
