package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/courier"
)

func loadConfig(t *testing.T, dev bool, extra string) *config.Config {
	t.Helper()
	cfg, err := config.LoadBytes([][]byte{[]byte(`
dsn: memory
identity:
  default_schema_id: default
  schemas:
    - id: default
      url: hoplite://default
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
` + extra)}, nil, dev)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestStartRefusedWithoutAnySecretOutsideDev(t *testing.T) {
	cfg := loadConfig(t, false, "")
	_, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err == nil || !strings.Contains(err.Error(), "no secret is configured") || !strings.Contains(err.Error(), "secrets.default") {
		t.Fatalf("want a refusal that names secrets.default, got %v", err)
	}
}

func TestDevModeGeneratesASecret(t *testing.T) {
	cfg := loadConfig(t, true, "")
	if err := ensureSecrets(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if len(cfg.SessionSecrets()) != 1 || len(cfg.SessionSecrets()[0]) < 32 {
		t.Fatalf("dev mode should generate one secret, got %d", len(cfg.SessionSecrets()))
	}
}

func TestSessionSecretsOrder(t *testing.T) {
	cfg := loadConfig(t, false, `
secrets:
  default: [default-secret-0123456789]
  cookie: [cookie-secret-0123456789, default-secret-0123456789]
  cipher: [cipher-secret-0123456789abcdefgh]
`)
	got := strings.Join(cfg.SessionSecrets(), ",")
	want := "default-secret-0123456789,cookie-secret-0123456789,cipher-secret-0123456789abcdefgh"
	if got != want {
		t.Fatalf("session secrets: got %s, want %s", got, want)
	}
	if err := ensureSecrets(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("configured secrets must be accepted outside dev mode: %v", err)
	}
}

// A Kratos file may set only secrets.cookie: TOTP keys and queued link
// mails are still encrypted at rest, under a key derived from it.
func TestAtRestSecretsFromCookieSecretsOnly(t *testing.T) {
	cfg, err := config.LoadBytes([][]byte{[]byte(`
dsn: memory
identity:
  default_schema_id: default
  schemas:
    - id: default
      url: hoplite://default
secrets:
  cookie: [cookie-secret-0123456789]
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
  methods:
    totp:
      enabled: true
`)}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		t.Fatalf("start with only secrets.cookie and TOTP on: %v", err)
	}
	defer a.Close()
	if _, err := a.Courier.QueueEmail(context.Background(), courier.RecoveryValid, courier.EmailData{To: "ann@example.org", RecoveryURL: "http://127.0.0.1/self-service/recovery?token=abc"}); err != nil {
		t.Fatal(err)
	}
	ms, err := a.Store.ListMessages(context.Background(), 0, 0)
	if err != nil || len(ms) != 1 || strings.Contains(ms[0].Body, "token=abc") {
		t.Fatalf("queued mail %v %+v: want it sealed", err, ms)
	}
}
