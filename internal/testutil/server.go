package testutil

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.yaml.in/yaml/v3"

	"github.com/hoplite-id/hoplite/internal/app"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/tracing"
)

// Server is a running Hoplite instance.
type Server struct {
	App       *app.App
	PublicURL string // with trailing slash
	AdminURL  string // with trailing slash
	DSN       string
	// Public and Admin are official Kratos SDK clients for the two ports.
	Public *kratos.APIClient
	Admin  *kratos.APIClient
	// Logs collects the server's log output.
	Logs *SyncBuffer

	cancel context.CancelFunc
	done   chan error
}

// Options adjust a test server.
type Options struct {
	// DSN of the database; empty means a new SQLite file.
	DSN string
	// Config is extra YAML merged over the test defaults.
	Config string
	// Env overrides config keys as environment variables would.
	Env map[string]string
	// Dev runs in dev mode (the default for tests is dev mode on).
	NotDev bool
	// Tracing replaces the configured tracing (spans recorded in memory).
	Tracing *tracing.Tracing
}

// baseConfig is what every test server starts from: dev mode, fast bcrypt,
// no breach check over the network.
const baseConfig = `
identity:
  default_schema_id: default
  schemas:
    - id: default
      url: hoplite://default
hashers:
  algorithm: bcrypt
  bcrypt:
    cost: 4
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
  methods:
    password:
      config:
        haveibeenpwned_enabled: false
secrets:
  default:
    - test-secret-test-secret-test-secret
log:
  level: error
`

// EnvTracing, when set, turns tracing on in every test server.
const EnvTracing = "HOPLITE_TEST_TRACING"

// StartServer starts Hoplite on two random loopback ports and stops it when
// the test ends.
func StartServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.DSN == "" {
		opts.DSN = NewSQLiteDSN(t)
	}
	publicLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	publicURL := "http://" + publicLn.Addr().String() + "/"
	adminURL := "http://" + adminLn.Addr().String() + "/"
	ports := map[string]any{
		"dsn": opts.DSN,
		"serve": map[string]any{
			"public": map[string]any{"base_url": publicURL, "host": "127.0.0.1", "port": portOf(publicLn)},
			"admin":  map[string]any{"base_url": adminURL, "host": "127.0.0.1", "port": portOf(adminLn)},
		},
	}
	portsYAML, _ := yaml.Marshal(ports)
	docs := [][]byte{[]byte(baseConfig), portsYAML}
	if strings.TrimSpace(opts.Config) != "" {
		docs = append(docs, []byte(opts.Config))
	}
	env := func(k string) (string, bool) {
		v, ok := opts.Env[k]
		return v, ok
	}
	cfg, err := config.LoadBytes(docs, env, !opts.NotDev)
	if err != nil {
		publicLn.Close()
		adminLn.Close()
		t.Fatalf("test config: %v", err)
	}
	logs := &SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if os.Getenv("HOPLITE_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.Tracing == nil && os.Getenv(EnvTracing) != "" {
		// Every span is made (and dropped): the SQL driver wrapper and the
		// span code run under the whole suite.
		opts.Tracing = tracing.New(sdktrace.NewSimpleSpanProcessor(tracetest.NewNoopExporter()), "hoplite-test", 1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, logger, app.Options{Migrate: true, Tracing: opts.Tracing})
	if err != nil {
		cancel()
		publicLn.Close()
		adminLn.Close()
		t.Fatalf("starting hoplite: %v", err)
	}
	s := &Server{App: a, PublicURL: publicURL, AdminURL: adminURL, DSN: opts.DSN, Logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Serve(ctx, publicLn, adminLn) }()
	s.Public = NewSDK(publicURL)
	s.Admin = NewSDK(adminURL)
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
	}
}

// NewSDK returns an official Kratos SDK client for base.
func NewSDK(base string) *kratos.APIClient {
	c := kratos.NewConfiguration()
	c.Servers = kratos.ServerConfigurations{{URL: strings.TrimSuffix(base, "/")}}
	c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	return kratos.NewAPIClient(c)
}

func portOf(ln net.Listener) int {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// SyncBuffer is a goroutine-safe log sink.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
