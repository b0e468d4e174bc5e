package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
)

// moduleRoot is the directory of the go.mod of the working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the hoplite module: run from the repository (or pass --hoplite-bin)")
	}
	return filepath.Dir(mod), nil
}

// buildHoplite builds ./cmd/hoplite of root into dir.
func buildHoplite(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "hoplite")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/hoplite")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/hoplite: %w\n%s", err, out)
	}
	return bin, nil
}

// benchSecret keys the session token hashes of the server and of the seeder.
const benchSecret = "hoplite-bench-secret-0123456789abcdef"

// serverConfig is the configuration file of a benchmark server.
func serverConfig(o *options, dsn string, publicPort, adminPort int) []byte {
	hashers := map[string]any{"algorithm": "bcrypt", "bcrypt": map[string]any{"cost": o.bcryptCost}}
	if o.hasher == "argon2" {
		// Hoplite's (Kratos') argon2 defaults: nothing set.
		hashers = map[string]any{"algorithm": "argon2"}
	}
	doc := map[string]any{
		"dsn":     dsn,
		"secrets": map[string]any{"default": []string{benchSecret}},
		"serve": map[string]any{
			"public": map[string]any{"host": "127.0.0.1", "port": publicPort, "base_url": fmt.Sprintf("http://127.0.0.1:%d/", publicPort)},
			"admin":  map[string]any{"host": "127.0.0.1", "port": adminPort, "base_url": fmt.Sprintf("http://127.0.0.1:%d/", adminPort)},
		},
		"identity": map[string]any{
			"default_schema_id": "default",
			"schemas":           []any{map[string]any{"id": "default", "url": "hoplite://default"}},
		},
		"hashers": hashers,
		"selfservice": map[string]any{
			"default_browser_return_url": "http://127.0.0.1:4455/",
			"methods": map[string]any{
				"password": map[string]any{"enabled": true, "config": map[string]any{"haveibeenpwned_enabled": false}},
			},
			"flows": map[string]any{
				"registration": map[string]any{
					"after": map[string]any{"password": map[string]any{"hooks": []any{map[string]any{"hook": "session"}}}},
				},
			},
		},
		"log": map[string]any{"level": "error"},
	}
	b, _ := yaml.Marshal(doc)
	return b
}

// loadConfig reads a generated configuration the way `hoplite serve` does
// (production mode, no environment), so the seeder derives the same
// secrets, session lifespan and hash parameters as the server.
func loadConfig(b []byte) (*config.Config, error) {
	return config.LoadBytes([][]byte{b}, nil, false)
}

// hasherOf builds the password hasher the server builds from cfg (the same
// mapping as internal/app).
func hasherOf(cfg *config.Config) (hash.Hasher, error) {
	if cfg.Hashers.Algorithm == "argon2" {
		a := cfg.Hashers.Argon2
		c := hash.Argon2Config{
			Memory: uint32(a.Memory / 1024), Iterations: a.Iterations, Parallelism: a.Parallelism,
			SaltLength: a.SaltLength, KeyLength: a.KeyLength,
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return hash.NewArgon2(c), nil
	}
	c := hash.BcryptConfig{Cost: cfg.Hashers.Bcrypt.Cost}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return hash.NewBcrypt(c), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// process is a child process whose memory is read from /proc.
type process struct {
	name   string
	cmd    *exec.Cmd
	output *tailBuffer
	done   chan struct{}
	err    error
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to shut down (SIGTERM) and kills it if it has not
// exited after grace.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return p.err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s and was killed", p.name, grace)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
		return nil
	}
	return p.err
}

func startProcess(name string, cmd *exec.Cmd, stdout io.Writer) (*process, error) {
	p := &process{name: name, cmd: cmd, output: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	cmd.Stderr = p.output
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = p.output
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// hopliteServer is a running `hoplite serve`.
type hopliteServer struct {
	*process
	publicAddr, adminAddr string
}

// migrate runs `hoplite migrate sql -c cfg --yes`.
func migrate(ctx context.Context, bin, cfgPath string) error {
	cmd := exec.CommandContext(ctx, bin, "migrate", "sql", "-c", cfgPath, "--yes")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("hoplite migrate sql: %w\n%s", err, out)
	}
	return nil
}

// startHoplite writes a configuration with fresh loopback ports and starts
// `hoplite serve` on it, waiting until /health/ready answers.
func startHoplite(ctx context.Context, o *options, bin, dir, dsn string) (*hopliteServer, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		pub, err := freePort()
		if err != nil {
			return nil, err
		}
		adm, err := freePort()
		if err != nil {
			return nil, err
		}
		cfgPath := filepath.Join(dir, "hoplite.yml")
		if err := os.WriteFile(cfgPath, serverConfig(o, dsn, pub, adm), 0o600); err != nil {
			return nil, err
		}
		p, err := startProcess("hoplite serve", exec.Command(bin, "serve", "-c", cfgPath), nil)
		if err != nil {
			return nil, err
		}
		s := &hopliteServer{process: p, publicAddr: fmt.Sprintf("127.0.0.1:%d", pub), adminAddr: fmt.Sprintf("127.0.0.1:%d", adm)}
		if err := waitReady(ctx, p, "http://"+s.publicAddr+"/health/ready", 60*time.Second); err != nil {
			_ = p.stop(5 * time.Second)
			lastErr = err
			if strings.Contains(p.output.String(), "address already in use") {
				continue
			}
			return nil, err
		}
		return s, nil
	}
	return nil, lastErr
}

func waitReady(ctx context.Context, p *process, url string, limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		if p.exited() {
			return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.output.String())
		}
		if resp, err := client.Get(url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s\n%s", p.name, limit, p.output.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startBare starts this binary as the bare server answering with answerPath.
func startBare(ctx context.Context, answerPath string) (*process, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(exe, roleBare, "--addr", "127.0.0.1:0", "--answer", answerPath)
	cmd.Env = append(os.Environ(), roleEnv+"="+roleBare)
	r, w := io.Pipe()
	p, err := startProcess("bare server", cmd, w)
	if err != nil {
		return nil, "", err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
	}()
	go func() { <-p.done; w.Close() }()
	select {
	case a := <-addr:
		if err := waitReady(ctx, p, "http://"+a+"/health", 10*time.Second); err != nil {
			_ = p.stop(5 * time.Second)
			return nil, "", err
		}
		return p, a, nil
	case <-p.done:
		return nil, "", fmt.Errorf("bare server exited: %v\n%s", p.err, p.output.String())
	case <-time.After(10 * time.Second):
		_ = p.stop(time.Second)
		return nil, "", errors.New("bare server did not report its address")
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}

// scratchDB creates a uniquely named database on the server of dsn and
// returns its DSN and a function that drops it.
func scratchDB(ctx context.Context, db, dsn string) (string, func() error, error) {
	p, err := sqlstore.ParseDSN(dsn)
	if err != nil {
		return "", nil, err
	}
	if string(p.Dialect) != db {
		return "", nil, fmt.Errorf("--dsn is a %s DSN, but --db is %s", p.Dialect, db)
	}
	conn, err := sql.Open(p.DriverName, p.DriverDSN)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "hoplite_bench_" + hex.EncodeToString(b)
	var create, drop, newDSN string
	switch p.Dialect {
	case sqlstore.Postgres:
		u, err := url.Parse(dsn)
		if err != nil {
			conn.Close()
			return "", nil, err
		}
		u.Path = "/" + name
		newDSN = u.String()
		create = "CREATE DATABASE " + name
		drop = "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"
	case sqlstore.MySQL:
		// mysql://user:pass@tcp(host:port)/db?params
		at := strings.LastIndex(dsn, ")/")
		if at < 0 {
			conn.Close()
			return "", nil, errors.New("--dsn: expected mysql://user:pass@tcp(host:port)/db")
		}
		rest := dsn[at+2:]
		query := ""
		if q := strings.IndexByte(rest, '?'); q >= 0 {
			query = rest[q:]
		}
		newDSN = dsn[:at+2] + name + query
		create = "CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
		drop = "DROP DATABASE IF EXISTS " + name
	default:
		conn.Close()
		return "", nil, fmt.Errorf("no scratch databases for %s", p.Dialect)
	}
	if _, err := conn.ExecContext(ctx, create); err != nil {
		conn.Close()
		return "", nil, fmt.Errorf("%s: %w", create, err)
	}
	cleanup := func() error {
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := conn.ExecContext(ctx, drop)
		return err
	}
	return newDSN, cleanup, nil
}

func mb(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }
