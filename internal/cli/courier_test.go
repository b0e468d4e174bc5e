package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/courier/smtptest"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

func courierConfig(t *testing.T, dsn, smtpURI string) string {
	t.Helper()
	dir := t.TempDir()
	schema := filepath.Join(dir, "identity.schema.json")
	if err := os.WriteFile(schema, []byte(`{"$id":"x","$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"traits":{"type":"object"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	smtp := ""
	if smtpURI != "" {
		smtp = fmt.Sprintf("courier:\n  smtp:\n    connection_uri: %q\n    from_address: no-reply@hoplite.example\n", smtpURI)
	}
	cfg := fmt.Sprintf("dsn: %q\nserve:\n  admin:\n    host: 127.0.0.1\nidentity:\n  schemas:\n    - id: default\n      url: file://%s\nselfservice:\n  default_browser_return_url: http://127.0.0.1:4455/\n%s",
		dsn, filepath.ToSlash(schema), smtp)
	p := filepath.Join(dir, "hoplite.yml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCourier runs `courier ARGS…` until ctx ends and returns what it wrote
// to stderr and its error.
func runCourier(ctx context.Context, args ...string) (*testutil.SyncBuffer, error) {
	cmd := newCourierCmd()
	var stderr testutil.SyncBuffer
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(ctx)
	return &stderr, err
}

func TestCourierWatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testutil.NewSQLiteDSN(t)
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := smtptest.Start(t, smtptest.Options{})
	file := courierConfig(t, dsn, srv.URI("smtp", "", "", "disable_starttls=true"))

	// Pending migrations stop the watcher.
	if _, err := runCourier(ctx, "watch", "-c", file); err == nil || !strings.Contains(err.Error(), "migrat") {
		t.Errorf("unmigrated database: %v", err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := courier.New(st, nil, 0, slog.New(slog.DiscardHandler)).QueueEmail(ctx, courier.VerificationValid,
		courier.EmailData{To: "ann@example.org", VerificationURL: "https://id.example.org/self-service/verification?flow=f&token=t"})
	if err != nil {
		t.Fatal(err)
	}

	metricsPort := freePort(t)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		err    error
		stderr *testutil.SyncBuffer
	}
	done := make(chan result, 1)
	go func() {
		stderr, err := runCourier(runCtx, "watch", "-c", file, "--expose-metrics-port", strconv.Itoa(metricsPort))
		done <- result{err, stderr}
	}()
	mails := srv.WaitForMails(t, 1, 10*time.Second)
	// The worker's metrics: the queue is empty again, nothing failed.
	var exposition string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		res, err := http.Get("http://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics/prometheus")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		exposition = string(body)
		if strings.Contains(exposition, "\nhoplite_courier_queue_depth 0\n") {
			break
		}
	}
	for _, want := range []string{"\nhoplite_courier_queue_depth 0\n", "\nhoplite_courier_send_failures_total 0\n", `go_sql_open_connections{db_name="hoplite"}`} {
		if !strings.Contains(exposition, want) {
			t.Errorf("courier metrics lack %q:\n%s", want, exposition)
		}
	}
	cancel() // as SIGINT/SIGTERM do through the command's context
	var res result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("courier watch did not stop when its context ended")
	}
	if res.err != nil {
		t.Fatalf("courier watch: %v\n%s", res.err, res.stderr)
	}
	p, err := mails[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	if p.Header.Get("Message-Id") != "<"+id.String()+"@hoplite.example>" || !strings.Contains(p.Text, "flow=f&token=t") {
		t.Errorf("delivered %v\n%s", p.Header, p.Text)
	}
	ms, err := st.ListMessages(ctx, courier.StatusSent, 0)
	if err != nil || len(ms) != 1 || ms[0].ID != id {
		t.Errorf("sent messages %v %v", ms, err)
	}
}

func TestCourierWatchRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testutil.NewSQLiteDSN(t)
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// No SMTP server configured.
	if _, err := runCourier(ctx, "watch", "-c", courierConfig(t, dsn, "")); !errors.Is(err, courier.ErrNoSender) {
		t.Errorf("without SMTP: %v", err)
	}
	// An in-memory database cannot be shared with the server.
	if _, err := runCourier(ctx, "watch", "-c", courierConfig(t, "memory", "smtp://127.0.0.1:1/")); err == nil || !strings.Contains(err.Error(), "in-memory") {
		t.Errorf("memory DSN: %v", err)
	}
	// Arguments are refused.
	if _, err := runCourier(ctx, "watch", "extra"); err == nil {
		t.Error("an argument was accepted")
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
