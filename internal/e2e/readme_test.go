package e2e_test

// The README's production section, followed as written: its commands build
// the binary with `go build`, check the configuration, migrate and serve,
// with the configuration of docs/production.md unchanged (only the address,
// database, SMTP server and schema location are overridden by environment
// variables, as the guide says any key may be). A new user then registers,
// receives the verification mail over SMTP, verifies and signs in.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/courier/smtptest"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// moduleRoot is the directory of go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// fencedBlock returns the first ```lang block of the section under heading.
func fencedBlock(t *testing.T, file, heading, lang string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("%s has no section %q", file, heading)
	}
	section := doc[start+len(heading)+2:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	open := strings.Index(section, "```"+lang+"\n")
	if open < 0 {
		t.Fatalf("%s: section %q has no %s block", file, heading, lang)
	}
	body := section[open+len(lang)+4:]
	end := strings.Index(body, "```")
	if end < 0 {
		t.Fatalf("%s: unterminated block in %q", file, heading)
	}
	return body[:end]
}

func TestREADMEProductionSection(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	commands := fencedBlock(t, filepath.Join(root, "README.md"), "## Running in production", "sh")
	configYAML := fencedBlock(t, filepath.Join(root, "docs", "production.md"), "## A complete configuration", "yaml")

	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "hoplite.yml"), []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	schemaFile := filepath.Join(work, "identity.schema.json")
	if err := os.WriteFile(schemaFile, []byte(schema.DefaultSchemaJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite://" + filepath.ToSlash(filepath.Join(work, "hoplite.sqlite")) + "?_fk=true"
	if os.Getenv(testutil.EnvPostgres) != "" {
		dsn = testutil.NewPostgresDSN(t) // the guide's database
	}
	smtp := smtptest.Start(t, smtptest.Options{Users: map[string]string{"hoplite": "mail-password"}})
	pub, adm := testutil.FreePort(t), testutil.FreePort(t)
	publicURL := fmt.Sprintf("http://127.0.0.1:%d/", pub)
	adminURL := fmt.Sprintf("http://127.0.0.1:%d/", adm)
	schemas, _ := json.Marshal([]map[string]string{{"id": "default", "url": "file://" + filepath.ToSlash(schemaFile)}})
	env := append(os.Environ(),
		"DSN="+dsn,
		"SERVE_PUBLIC_HOST=127.0.0.1", fmt.Sprintf("SERVE_PUBLIC_PORT=%d", pub), "SERVE_PUBLIC_BASE_URL="+publicURL,
		"SERVE_ADMIN_HOST=127.0.0.1", fmt.Sprintf("SERVE_ADMIN_PORT=%d", adm), "SERVE_ADMIN_BASE_URL="+adminURL,
		"COURIER_SMTP_CONNECTION_URI="+smtp.URI("smtp", "hoplite", "mail-password", "disable_starttls=true"),
		"IDENTITY_SCHEMAS="+string(schemas),
		// The test machine has no internet access for the breach check.
		"SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED=false",
	)

	binary := filepath.Join(work, "hoplite")
	var ran []string
	serveLogs := &testutil.SyncBuffer{}
	scanner := bufio.NewScanner(strings.NewReader(commands))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args := strings.Fields(line)
		switch {
		case args[0] == "go" && len(args) > 1 && args[1] == "build":
			// Build into the test's directory instead of the checkout.
			for k := range args {
				if k > 0 && args[k-1] == "-o" {
					args[k] = binary
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			ran = append(ran, "build")
		case args[0] == "./hoplite" && len(args) > 1 && args[1] == "serve":
			startBinary(t, binary, work, env, args[1:], serveLogs, publicURL)
			ran = append(ran, "serve")
		case args[0] == "./hoplite":
			cmd := exec.Command(binary, args[1:]...)
			cmd.Dir, cmd.Env = work, env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			ran = append(ran, strings.Join(args[1:3], " "))
		default:
			t.Fatalf("the README's production section has a command this test does not know: %q", line)
		}
	}
	if got := strings.Join(ran, ", "); got != "build, config check, migrate sql, serve" {
		t.Fatalf("the README's production commands were %q; this test expects build, config check, migrate sql, serve", got)
	}

	// A new user registers, gets the verification mail, verifies, signs in.
	s := &testutil.Server{PublicURL: publicURL, AdminURL: adminURL, Public: testutil.NewSDK(publicURL), Admin: testutil.NewSDK(adminURL)}
	const email = "first.customer@example.org"
	reg := ssRegister(t, s, email, ssPassword)
	box := &lcMailbox{srv: smtp, taken: map[int]bool{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", serveLogs)
		}
	})
	m := box.next(t, email)
	if m.Raw.User != "hoplite" || m.Raw.From != "accounts@example.org" {
		t.Errorf("mail sent as %q from %q", m.Raw.User, m.Raw.From)
	}
	link := m.link(t)
	if !strings.HasPrefix(link, publicURL+"self-service/verification?") {
		t.Fatalf("verification link %q", link)
	}
	r := do(t, http.MethodGet, link, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("following the link: %s", r)
	}
	if a := lcVerifiable(t, s, reg.Identity.Id, email); !a.Verified {
		t.Errorf("address not verified after following the link: %+v", a)
	}
	login := ssLogin(t, s, email, ssPassword)
	if login.Session.Identity.Id != reg.Identity.Id {
		t.Errorf("signed in as %s, registered %s", login.Session.Identity.Id, reg.Identity.Id)
	}
	if !strings.Contains(serveLogs.String(), `"msg":"serving","version":"`) {
		t.Errorf("no start-up line with the version:\n%s", serveLogs)
	}
}

// startBinary runs the server binary until the test ends (then stops it with
// an interrupt, as an operator's Ctrl-C would) and waits until it is ready.
func startBinary(t *testing.T, binary, dir string, env, args []string, logs *testutil.SyncBuffer, publicURL string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the server exited with %v\n%s", err, logs)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the server did not stop on an interrupt\n%s", logs)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the server exited: %v\n%s", errors.Join(err), logs)
		default:
		}
		if res, err := http.Get(publicURL + "health/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not become ready\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
