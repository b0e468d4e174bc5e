package e2e_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestDatabaseOutage cuts a running server off its PostgreSQL database and
// lets it back in: readiness must report the outage (with details only on
// the admin port), API routes must answer 500 envelopes promptly, and
// everything must recover without a restart.
func TestDatabaseOutage(t *testing.T) {
	if os.Getenv(testutil.EnvPostgres) == "" {
		t.Skipf("needs a PostgreSQL server it may block connections to: set %s", testutil.EnvPostgres)
	}
	t.Parallel()
	dsn := testutil.NewPostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	s := testutil.StartServer(t, testutil.Options{DSN: dsn})
	existing := createIdentity(t, s, "before-outage@example.org")

	adminDSN, _ := url.Parse(os.Getenv(testutil.EnvPostgres))
	adminDSN.Scheme = "postgres"
	adminDB, err := sql.Open("pgx", adminDSN.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adminDB.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := adminDB.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	allow := func(ok bool) {
		v := "true"
		if !ok {
			v = "false"
		}
		exec(`ALTER DATABASE "` + dbName + `" ALLOW_CONNECTIONS ` + v)
	}
	// Whatever happens, let connections in again so the database can be
	// dropped.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = adminDB.ExecContext(ctx, `ALTER DATABASE "`+dbName+`" ALLOW_CONNECTIONS true`)
	})

	ready := func(base string) response { return do(t, http.MethodGet, base, nil) }
	adminReady, publicReady := adminURL(s, "health/ready"), s.PublicURL+"health/ready"
	if r := ready(adminReady); r.Status != http.StatusOK {
		t.Fatalf("ready before the outage: %s", r)
	}

	// The outage: no new connections, existing ones terminated.
	allow(false)
	exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, dbName)

	timed := func(name string, f func() response) response {
		t.Helper()
		start := time.Now()
		r := f()
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("%s took %s during the outage", name, d)
		}
		return r
	}
	r := timed("admin ready", func() response { return ready(adminReady) })
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("admin ready during the outage: %s", r)
	}
	detail := decode[struct {
		Errors map[string]string `json:"errors"`
	}](t, r)
	if d := detail.Errors["database"]; d == "" || strings.Contains(d, "obfuscated") {
		t.Errorf("admin readiness should explain the database problem: %s", r.Body)
	}
	r = timed("public ready", func() response { return ready(publicReady) })
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("public ready during the outage: %s", r)
	}
	pub := decode[struct {
		Errors map[string]string `json:"errors"`
	}](t, r)
	if len(pub.Errors) == 0 {
		t.Errorf("public readiness has no errors: %s", r.Body)
	}
	for k, v := range pub.Errors {
		if v != "error may contain sensitive information and was obfuscated" {
			t.Errorf("public readiness leaks %s: %q", k, v)
		}
	}
	if strings.Contains(string(r.Body), dbName) {
		t.Errorf("public readiness names the database: %s", r.Body)
	}
	// Liveness does not depend on the database.
	if r := ready(s.PublicURL + "health/alive"); r.Status != http.StatusOK {
		t.Errorf("alive during the outage: %s", r)
	}

	// API routes answer 500 envelopes, without details.
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "identities", ""},
		{http.MethodGet, "identities/" + existing.ID, ""},
		{http.MethodPost, "identities", `{"traits":{"email":"during-outage@example.org"}}`},
		{http.MethodPut, "identities/" + existing.ID, `{"traits":{"email":"during-outage@example.org"}}`},
		{http.MethodDelete, "identities/" + existing.ID, ""},
	} {
		r := timed(c.method+" "+c.path, func() response { return doJSON(t, c.method, adminURL(s, c.path), c.body) })
		e := requireEnvelope(t, r, http.StatusInternalServerError)
		if e.Reason != "" || e.Debug != "" || strings.Contains(string(r.Body), dbName) {
			t.Errorf("%s %s: the 500 leaks details: %s", c.method, c.path, r.Body)
		}
	}
	// Schemas do not need the database.
	if r := do(t, http.MethodGet, s.PublicURL+"schemas/default", nil); r.Status != http.StatusOK {
		t.Errorf("schema during the outage: %s", r)
	}

	// Recovery, without a restart.
	allow(true)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ra, rp := ready(adminReady), ready(publicReady)
		if ra.Status == http.StatusOK && rp.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: admin %s; public %s", ra, rp)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := decode[identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities/"+existing.ID), nil))
	if got.ID != existing.ID || got.Traits["email"] != "before-outage@example.org" {
		t.Errorf("identity after the outage: %+v", got)
	}
	createIdentity(t, s, "after-outage@example.org")
	if list := decode[[]identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities"), nil)); len(list) != 2 {
		t.Errorf("%d identities after the outage, want 2 (nothing written during it)", len(list))
	}
}

// TestReadinessPendingMigrations makes the database look un-migrated under a
// running server: readiness must say so (details on admin only) and recover
// once the migration is recorded again.
func TestReadinessPendingMigrations(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		db := s.App.Store.DB()
		var version int64
		var name string
		var at time.Time
		if err := db.QueryRow("SELECT version, name, applied_at FROM hoplite_migrations ORDER BY version DESC LIMIT 1").Scan(&version, &name, &at); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("DELETE FROM hoplite_migrations WHERE version = " + strconv.FormatInt(version, 10)); err != nil {
			t.Fatal(err)
		}

		r := do(t, http.MethodGet, adminURL(s, "health/ready"), nil)
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("admin ready with a pending migration: %s", r)
		}
		got := decode[struct {
			Errors map[string]string `json:"errors"`
		}](t, r)
		if !strings.Contains(got.Errors["migrations"], "migrate sql") {
			t.Errorf("admin readiness: %s", r.Body)
		}
		r = do(t, http.MethodGet, s.PublicURL+"health/ready", nil)
		if r.Status != http.StatusServiceUnavailable || strings.Contains(string(r.Body), "migrate sql") || !strings.Contains(string(r.Body), "obfuscated") {
			t.Errorf("public readiness: %s", r)
		}

		q := "INSERT INTO hoplite_migrations (version, name, applied_at) VALUES (?, ?, ?)"
		if s.App.Store.Dialect() == sqlstore.Postgres {
			q = "INSERT INTO hoplite_migrations (version, name, applied_at) VALUES ($1, $2, $3)"
		}
		if _, err := db.Exec(q, version, name, at); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{adminURL(s, "health/ready"), s.PublicURL + "health/ready"} {
			if r := do(t, http.MethodGet, u, nil); r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != `{"status":"ok"}` {
				t.Errorf("%s after recording the migration again: %s", u, r)
			}
		}
	})
}
