package e2e_test

// TestDatabaseRestartUnderLoad runs Hoplite on a PostgreSQL cluster of its
// own (initdb and pg_ctl in a temporary directory, on a free loopback port)
// and stops and restarts that cluster while clients register, sign in and
// call the admin API. The machine's PostgreSQL server is never touched.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// pgCluster is a throw-away PostgreSQL cluster.
type pgCluster struct {
	t    *testing.T
	bin  string // directory of initdb, pg_ctl, postgres
	dir  string // owned by the cluster's user
	port int
	// runAs is the user that runs the server when the test runs as root
	// (PostgreSQL refuses to run as root).
	runAs string
}

// startPGCluster creates and starts a cluster. It fails the test when the
// PostgreSQL server binaries are not installed.
func startPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if p, err := exec.LookPath("initdb"); err == nil {
		bins = append([]string{p}, bins...)
	}
	if len(bins) == 0 {
		t.Fatal("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
	}
	sort.Strings(bins[1:])
	c := &pgCluster{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "hoplite-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user to run the cluster: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.runAs = "postgres"
	}
	c.port = freePort(t)
	c.run("initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	c.start()
	t.Cleanup(func() { c.ctl("stop", "-m", "immediate") })
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// DSN is the cluster's postgres database.
func (c *pgCluster) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func (c *pgCluster) run(tool string, args ...string) {
	c.t.Helper()
	name := filepath.Join(c.bin, tool)
	if c.runAs != "" {
		args = append([]string{"-u", c.runAs, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

func (c *pgCluster) ctl(args ...string) {
	c.t.Helper()
	c.run("pg_ctl", append([]string{"-D", c.data(), "-w", "-t", "60"}, args...)...)
}

func (c *pgCluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=50", c.port, c.dir)
	c.ctl("start", "-l", filepath.Join(c.dir, "log"), "-o", opts)
}

// stop shuts the cluster down fast: connections are cut, open
// transactions roll back.
func (c *pgCluster) stop() {
	c.t.Helper()
	c.ctl("stop", "-m", "fast")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// outcome is one answer of the load.
type outcome struct {
	what   string
	status int
	body   string
	err    error
}

// clean reports whether an answer is a success, or a failure in the
// error envelope (or a flow carrying a message); never a bare 5xx, a
// broken connection or an empty answer.
func (o outcome) clean() bool {
	if o.err != nil {
		return false
	}
	if o.status < 400 {
		return true
	}
	var v struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
		UI *json.RawMessage `json:"ui"`
	}
	if json.Unmarshal([]byte(o.body), &v) != nil {
		return false
	}
	return (v.Error != nil && v.Error.Code == o.status) || (v.UI != nil && o.status < 500)
}

func TestDatabaseRestartUnderLoad(t *testing.T) {
	if os.Getenv(testutil.EnvPostgres) == "" {
		t.Skipf("runs with the PostgreSQL suites: set %s", testutil.EnvPostgres)
	}
	t.Parallel()
	pg := startPGCluster(t)
	s := testutil.StartServer(t, testutil.Options{DSN: pg.DSN()})
	adminReady := adminURL(s, "health/ready")
	client := &http.Client{Timeout: 30 * time.Second}

	send := func(what, method, url, body string, headers ...string) outcome {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			return outcome{what: what, err: err}
		}
		req.Header.Set("Accept", "application/json")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k := 0; k+1 < len(headers); k += 2 {
			req.Header.Set(headers[k], headers[k+1])
		}
		res, err := client.Do(req)
		if err != nil {
			return outcome{what: what, err: err}
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		return outcome{what: what, status: res.StatusCode, body: string(raw), err: err}
	}

	// The load: each worker registers a new identity over an API flow,
	// checks its session and lists identities on the admin port.
	var (
		mu         sync.Mutex
		outcomes   []outcome
		registered = map[string]bool{} // email → answered 200
		seq        atomic.Int64
		stop       = make(chan struct{})
		wg         sync.WaitGroup
	)
	record := func(o outcome) {
		mu.Lock()
		outcomes = append(outcomes, o)
		mu.Unlock()
	}
	worker := func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			email := fmt.Sprintf("load-%d@example.org", seq.Add(1))
			o := send("registration init", http.MethodGet, ssFlowURL(s, "/self-service/registration/api"), "")
			record(o)
			var f struct {
				ID string `json:"id"`
			}
			if o.status != http.StatusOK || json.Unmarshal([]byte(o.body), &f) != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			body := `{"method":"password","password":"` + ssPassword + `","traits":{"email":"` + email + `"}}`
			o = send("registration submit", http.MethodPost, ssFlowURL(s, "/self-service/registration?flow="+f.ID), body)
			record(o)
			var out struct {
				SessionToken string `json:"session_token"`
			}
			if o.status == http.StatusOK && json.Unmarshal([]byte(o.body), &out) == nil {
				mu.Lock()
				registered[email] = true
				mu.Unlock()
				record(send("whoami", http.MethodGet, ssFlowURL(s, "/sessions/whoami"), "", "X-Session-Token", out.SessionToken))
			}
			record(send("admin list", http.MethodGet, adminURL(s, "identities?per_page=5"), ""))
		}
	}
	for k := 0; k < 4; k++ {
		wg.Add(1)
		go worker()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	countOK := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(registered)
	}

	waitFor("registrations before the outage", func() bool { return countOK() >= 5 })
	pg.stop()
	down := time.Now()
	mu.Lock()
	before := len(outcomes)
	mu.Unlock()
	// Readiness answers 503 on both ports while the database is down.
	for _, u := range []string{adminReady, s.PublicURL + "health/ready"} {
		if o := send("ready", http.MethodGet, u, ""); o.status != http.StatusServiceUnavailable {
			t.Errorf("%s while the database is down: %d %s", u, o.status, o.body)
		}
	}
	waitFor("failed requests during the outage", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, o := range outcomes[before:] {
			if o.status >= 500 {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // a while more of failing load
	pg.start()
	t.Logf("database down for %v", time.Since(down).Round(time.Millisecond))

	// The service recovers without a restart.
	waitFor("readiness after the restart", func() bool {
		return send("ready", http.MethodGet, adminReady, "").status == http.StatusOK
	})
	after := countOK()
	waitFor("registrations after the restart", func() bool { return countOK() >= after+5 })
	close(stop)
	wg.Wait()

	failed := 0
	for _, o := range outcomes {
		if o.status >= 400 {
			failed++
		}
		if !o.clean() {
			t.Errorf("%s: not a clean answer: status %d, error %v, body %.300s", o.what, o.status, o.err, o.body)
		}
	}
	t.Logf("%d requests, %d failed cleanly, %d identities registered", len(outcomes), failed, countOK())
	if strings.Contains(s.Logs.String(), "panic") {
		t.Errorf("the server logged a panic:\n%s", s.Logs.String())
	}

	// Nothing half-written: every stored identity is complete (credential,
	// identifier, both addresses), and every registration answered 200 is
	// stored.
	db := s.App.Store.DB()
	var incomplete int
	err := db.QueryRow(`SELECT COUNT(*) FROM identities i WHERE
		NOT EXISTS (SELECT 1 FROM identity_credentials c WHERE c.identity_id = i.id) OR
		NOT EXISTS (SELECT 1 FROM identity_credential_identifiers x WHERE x.identity_id = i.id) OR
		NOT EXISTS (SELECT 1 FROM identity_verifiable_addresses v WHERE v.identity_id = i.id) OR
		NOT EXISTS (SELECT 1 FROM identity_recovery_addresses r WHERE r.identity_id = i.id)`).Scan(&incomplete)
	if err != nil {
		t.Fatal(err)
	}
	if incomplete != 0 {
		t.Errorf("%d identities are stored incomplete", incomplete)
	}
	rows, err := db.Query(`SELECT identifier FROM identity_credential_identifiers`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	rows.Close()
	for email := range registered {
		if !stored[email] {
			t.Errorf("registration of %s answered 200 but is not stored", email)
		}
	}
}
