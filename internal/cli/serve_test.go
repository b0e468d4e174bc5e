package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/cli"
	"github.com/hoplite-id/hoplite/internal/courier/smtptest"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// productionConfig writes a configuration without dev mode: a schema file,
// SMTP at smtpURI, verification on.
func productionConfig(t *testing.T, smtpURI, extra string) (file, publicURL, adminURL string) {
	t.Helper()
	dir := t.TempDir()
	schemaFile := filepath.Join(dir, "identity.schema.json")
	if err := os.WriteFile(schemaFile, []byte(schema.DefaultSchemaJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, adm := testutil.FreePort(t), testutil.FreePort(t)
	publicURL = fmt.Sprintf("http://127.0.0.1:%d/", pub)
	adminURL = fmt.Sprintf("http://127.0.0.1:%d/", adm)
	cfg := fmt.Sprintf(`dsn: %q
serve:
  public: {host: 127.0.0.1, port: %d, base_url: %q}
  admin: {host: 127.0.0.1, port: %d, base_url: %q}
secrets:
  default: [a-production-secret-0123456789]
identity:
  schemas:
    - {id: default, url: "file://%s"}
selfservice:
  default_browser_return_url: https://app.example.org/
  flows:
    verification: {enabled: true}
  methods:
    password:
      config: {haveibeenpwned_enabled: false}
courier:
  smtp:
    connection_uri: %q
    from_address: accounts@example.org
%s`, testutil.NewSQLiteDSN(t), pub, publicURL, adm, adminURL, filepath.ToSlash(schemaFile), smtpURI, extra)
	file = filepath.Join(dir, "hoplite.yml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, publicURL, adminURL
}

// startServe runs `hoplite serve ARGS…` in this process until the test ends.
func startServe(t *testing.T, publicURL string, args ...string) *testutil.SyncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.SyncBuffer{}
	root := cli.NewRoot()
	root.SetArgs(append([]string{"serve"}, args...))
	root.SetOut(io.Discard)
	root.SetErr(logs)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, logs)
		}
	})
	waitReady(t, publicURL, done, logs)
	return logs
}

func waitReady(t *testing.T, publicURL string, done chan error, logs *testutil.SyncBuffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve stopped: %v\n%s", err, logs)
		default:
		}
		if r, err := http.Get(publicURL + "health/ready"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the server did not become ready\n%s", logs)
}

// registerByAPI signs up email through an API registration flow.
func registerByAPI(t *testing.T, publicURL, email, password string) {
	t.Helper()
	r, err := http.Get(publicURL + "self-service/registration/api")
	if err != nil {
		t.Fatal(err)
	}
	var flow struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(r.Body).Decode(&flow)
	r.Body.Close()
	if err != nil || flow.ID == "" {
		t.Fatalf("registration flow: %v", err)
	}
	body, _ := json.Marshal(map[string]any{"method": "password", "password": password, "traits": map[string]any{"email": email}})
	r, err = http.Post(publicURL+"self-service/registration?flow="+flow.ID, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("registration: %d %s", r.StatusCode, raw)
	}
}

func TestServeDeliversMailOutsideDevModeWhenSMTPIsConfigured(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	file, publicURL, _ := productionConfig(t, srv.URI("smtp", "", "", "disable_starttls=true"), "")
	mustRun(t, "", "migrate", "sql", "-e", "--yes", "-c", file)
	logs := startServe(t, publicURL, "-c", file)

	registerByAPI(t, publicURL, "operator@example.org", "a long production password")
	mails := srv.WaitForMails(t, 1, 60*time.Second)
	p, err := mails[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	if len(mails[0].To) != 1 || mails[0].To[0] != "operator@example.org" || !strings.Contains(p.Text, publicURL+"self-service/verification?") {
		t.Errorf("mail to %v: %s", mails[0].To, p.Text)
	}
	// The start-up line names the version and the database, not its DSN.
	if !strings.Contains(logs.String(), `"msg":"serving","version":`) || !strings.Contains(logs.String(), `"database":"sqlite"`) {
		t.Errorf("start-up line: %s", logs)
	}
}

func TestServeLeavesMailToCourierWatchWhenTheWorkerIsOff(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	file, publicURL, _ := productionConfig(t, srv.URI("smtp", "", "", "disable_starttls=true"), "  worker:\n    enabled: false\n")
	mustRun(t, "", "migrate", "sql", "-e", "--yes", "-c", file)
	logs := startServe(t, publicURL, "-c", file)
	if !strings.Contains(logs.String(), "courier.worker.enabled is false, so this process does not send mail") {
		t.Errorf("no notice that mail is left to courier watch:\n%s", logs)
	}
	// --watch-courier still forces the worker on.
	srv2 := smtptest.Start(t, smtptest.Options{})
	file2, publicURL2, _ := productionConfig(t, srv2.URI("smtp", "", "", "disable_starttls=true"), "  worker:\n    enabled: false\n")
	mustRun(t, "", "migrate", "sql", "-e", "--yes", "-c", file2)
	startServe(t, publicURL2, "-c", file2, "--watch-courier")
	registerByAPI(t, publicURL2, "forced@example.org", "a long production password")
	if mails := srv2.WaitForMails(t, 1, 60*time.Second); mails[0].To[0] != "forced@example.org" {
		t.Errorf("mail to %v", mails[0].To)
	}
}

// Not parallel: it changes the working directory (where --dev keeps its
// database) and the environment.
func TestServeDevWithoutConfigHasAddressFlowsAndLogsMailsOnce(t *testing.T) {
	t.Chdir(t.TempDir())
	pub, adm := testutil.FreePort(t), testutil.FreePort(t)
	t.Setenv("SERVE_PUBLIC_PORT", fmt.Sprint(pub))
	t.Setenv("SERVE_ADMIN_PORT", fmt.Sprint(adm))
	t.Setenv("SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED", "false")
	publicURL := fmt.Sprintf("http://127.0.0.1:%d/", pub)
	logs := startServe(t, publicURL, "--dev")

	for _, kind := range []string{"recovery", "verification"} {
		r, err := http.Get(publicURL + "self-service/" + kind + "/api")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s", kind, r.StatusCode, raw)
		}
	}

	registerByAPI(t, publicURL, "dev@example.org", "a long development password")
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"courier: email"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the verification mail was not logged:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := logs.String()
	if n := strings.Count(out, "emails are written to this log"); n != 1 {
		t.Errorf("the log says %d times where mails go:\n%s", n, out)
	}
	if strings.Contains(out, "sent email") || strings.Contains(out, "not sent") {
		t.Errorf("contradictory mail lines:\n%s", out)
	}
	if !strings.Contains(out, `"to":"dev@example.org"`) || !strings.Contains(out, "self-service/verification?") {
		t.Errorf("the mail line lacks the recipient or the link:\n%s", out)
	}
}
