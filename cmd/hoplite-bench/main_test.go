package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the command when the smoke
// run re-executes itself as the bare server.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == roleBare {
		os.Exit(bareServerMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole tool in smoke mode against SQLite: build, migrate,
// seed, serve, every phase, the bare server and the raw hash rates. It
// asserts that everything completes without a failed request and that every
// phase is reported; it asserts no timing.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server: skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build ./cmd/hoplite")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	md := filepath.Join(t.TempDir(), "bench.md")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"--smoke", "--identities", "50", "--sessions", "80", "--markdown", md}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, p := range append([]string{phaseBare}, allPhases...) {
		if !strings.Contains(out, "phase "+p+" ") {
			t.Errorf("phase %s not reported:\n%s", p, out)
		}
	}
	for _, want := range []string{"seeded 50 identities", "80 sessions", "raw hash.Compare", "raw Hasher.Generate", "budgets", "whoami-token rps / bare rps"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "error: ") {
		t.Errorf("errors reported:\n%s", out)
	}
	doc, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!-- hoplite-bench:sqlite-bcrypt12-smoke begin -->", "| admin get identity |", "| budget | measured | target |", "--smoke"} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("markdown lacks %q:\n%s", want, doc)
		}
	}
}

func TestFlags(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseFlags([]string{"--phases", "admin,login,admin-get", "--bcrypt-cost", "10"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.phases, ","); got != "admin-list,admin-get,admin-list-serial,admin-get-serial,login" {
		t.Errorf("phases %s", got)
	}
	if o.bcryptCost != 12 {
		t.Errorf("bcrypt cost %d: the server measures 12", o.bcryptCost)
	}
	for _, bad := range [][]string{
		{"--phases", "nope"},
		{"--db", "postgres"},
		{"--db", "oracle"},
		{"--hasher", "md5"},
		{"--runs", "0"},
		{"--dsn", "postgres://x"},
	} {
		if _, err := parseFlags(bad, &stderr); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	o, err = parseFlags([]string{"--smoke", "--identities", "7"}, &stderr)
	if err != nil || o.identities != 7 || o.sessions != 300 || o.duration != time.Second || len(o.phases) != len(allPhases) {
		t.Errorf("smoke defaults: %+v %v", o, err)
	}
}
