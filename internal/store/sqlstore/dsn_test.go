package sqlstore_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
)

func TestParseDSN(t *testing.T) {
	type want struct {
		dialect  sqlstore.Dialect
		driver   string
		inMemory bool
		pool     sqlstore.PoolOptions
		// contains and lacks are substrings of the driver DSN.
		contains []string
		lacks    []string
	}
	cases := map[string]want{
		"memory": {dialect: sqlstore.SQLite, driver: "sqlite3", inMemory: true, pool: sqlstore.PoolOptions{MaxConns: 1, MaxIdleConns: 1},
			contains: []string{"mode=memory", "_fk=1"}},
		" memory ": {dialect: sqlstore.SQLite, driver: "sqlite3", inMemory: true, pool: sqlstore.PoolOptions{MaxConns: 1, MaxIdleConns: 1}},
		"sqlite://file::memory:?_fk=true": {dialect: sqlstore.SQLite, driver: "sqlite3", inMemory: true, pool: sqlstore.PoolOptions{MaxConns: 1, MaxIdleConns: 1},
			contains: []string{"mode=memory"}},
		"sqlite://:memory:":              {dialect: sqlstore.SQLite, driver: "sqlite3", inMemory: true, pool: sqlstore.PoolOptions{MaxConns: 1, MaxIdleConns: 1}},
		"sqlite:///tmp/x.db?mode=memory": {dialect: sqlstore.SQLite, driver: "sqlite3", inMemory: true, pool: sqlstore.PoolOptions{MaxConns: 1, MaxIdleConns: 1}},
		"sqlite:///var/lib/hoplite/db.sqlite?_fk=true": {dialect: sqlstore.SQLite, driver: "sqlite3", pool: sqlstore.PoolOptions{MaxConns: 16},
			contains: []string{"file:/var/lib/hoplite/db.sqlite?", "_foreign_keys=1", "_busy_timeout=10000", "_journal_mode=WAL", "_txlock=immediate", "_synchronous=NORMAL"},
			lacks:    []string{"_fk="}},
		"sqlite://./relative.db": {dialect: sqlstore.SQLite, driver: "sqlite3", pool: sqlstore.PoolOptions{MaxConns: 16},
			contains: []string{"file:./relative.db?", "_foreign_keys=1"}},
		"SQLite3:///tmp/x.db?_busy_timeout=500&_journal_mode=DELETE&max_conns=3&max_idle_conns=2&max_conn_lifetime=90s": {
			dialect: sqlstore.SQLite, driver: "sqlite3", pool: sqlstore.PoolOptions{MaxConns: 3, MaxIdleConns: 2, MaxConnLifetime: 90 * time.Second},
			contains: []string{"_busy_timeout=500", "_journal_mode=DELETE", "_foreign_keys=1"},
			lacks:    []string{"max_conns", "max_idle_conns", "max_conn_lifetime", "_busy_timeout=10000", "WAL"}},
		"sqlite:///tmp/x.db?_fk=false": {dialect: sqlstore.SQLite, driver: "sqlite3", pool: sqlstore.PoolOptions{MaxConns: 16},
			contains: []string{"_foreign_keys=1"}, lacks: []string{"_fk"}},
		"postgres://hoplite:s3cret@db.example:5432/hoplite?sslmode=disable": {dialect: sqlstore.Postgres, driver: "pgx", pool: sqlstore.PoolOptions{MaxConns: 32},
			contains: []string{"postgres://hoplite:s3cret@db.example:5432/hoplite", "sslmode=disable"}},
		"postgresql://u@h/db": {dialect: sqlstore.Postgres, driver: "pgx", pool: sqlstore.PoolOptions{MaxConns: 32}, contains: []string{"postgres://u@h/db"}},
		"cockroach://root@crdb:26257/defaultdb?sslmode=disable": {dialect: sqlstore.Postgres, driver: "pgx", pool: sqlstore.PoolOptions{MaxConns: 32},
			contains: []string{"postgres://root@crdb:26257/defaultdb"}},
		"cockroachdb://root@crdb:26257/defaultdb": {dialect: sqlstore.Postgres, driver: "pgx", pool: sqlstore.PoolOptions{MaxConns: 32}, contains: []string{"postgres://root@crdb"}},
		"crdb://root@crdb:26257/defaultdb":        {dialect: sqlstore.Postgres, driver: "pgx", pool: sqlstore.PoolOptions{MaxConns: 32}, contains: []string{"postgres://root@crdb"}},
		"postgres://u:p@h/db?max_conns=5&max_idle_conns=0&max_conn_lifetime=1m&application_name=hoplite": {
			dialect: sqlstore.Postgres, driver: "pgx", pool: sqlstore.PoolOptions{MaxConns: 5, MaxConnLifetime: time.Minute},
			contains: []string{"application_name=hoplite"}, lacks: []string{"max_conns", "max_idle_conns", "max_conn_lifetime"}},
		"mysql://root:s3cret@tcp(127.0.0.1:3306)/kratos?parseTime=true&multiStatements=true": {
			dialect: sqlstore.MySQL, driver: "mysql", pool: sqlstore.PoolOptions{MaxConns: 32},
			contains: []string{"root:s3cret@tcp(127.0.0.1:3306)/kratos", "parseTime=true", "multiStatements=true", "clientFoundRows=true", "collation=utf8mb4_bin"}},
		"mysql://u:p@tcp(h:3306)/db?max_conns=7&max_idle_conns=3&max_conn_lifetime=2h": {
			dialect: sqlstore.MySQL, driver: "mysql", pool: sqlstore.PoolOptions{MaxConns: 7, MaxIdleConns: 3, MaxConnLifetime: 2 * time.Hour},
			contains: []string{"parseTime=true"}, lacks: []string{"max_conns", "max_idle_conns", "max_conn_lifetime"}},
		"mysql://u@unix(/run/mysqld/mysqld.sock)/db": {dialect: sqlstore.MySQL, driver: "mysql", pool: sqlstore.PoolOptions{MaxConns: 32},
			contains: []string{"unix(/run/mysqld/mysqld.sock)/db"}},
	}
	for dsn, w := range cases {
		t.Run(dsn, func(t *testing.T) {
			p, err := sqlstore.ParseDSN(dsn)
			if err != nil {
				t.Fatalf("ParseDSN: %v", err)
			}
			if p.Dialect != w.dialect || p.DriverName != w.driver || p.InMemory != w.inMemory || p.Pool != w.pool {
				t.Errorf("got dialect %s driver %s memory %v pool %+v; want %s %s %v %+v", p.Dialect, p.DriverName, p.InMemory, p.Pool, w.dialect, w.driver, w.inMemory, w.pool)
			}
			for _, c := range w.contains {
				if !strings.Contains(p.DriverDSN, c) {
					t.Errorf("driver DSN %q lacks %q", p.DriverDSN, c)
				}
			}
			for _, c := range w.lacks {
				if strings.Contains(p.DriverDSN, c) {
					t.Errorf("driver DSN %q contains %q", p.DriverDSN, c)
				}
			}
		})
	}

	// Two "memory" DSNs are two separate databases.
	a, _ := sqlstore.ParseDSN("memory")
	b, _ := sqlstore.ParseDSN("memory")
	if a.DriverDSN == b.DriverDSN {
		t.Errorf("two memory DSNs share %q", a.DriverDSN)
	}
}

func TestParseDSNErrors(t *testing.T) {
	const secret = "Sup3rSecretPassw0rd"
	cases := map[string]string{ // DSN → substring of the error
		"":                                      "empty",
		"   ":                                   "empty",
		"oracle://scott:" + secret + "@h/orcl":  "unsupported",
		"sqlserver://sa:" + secret + "@h":       "unsupported",
		"/tmp/hoplite.db":                       "unsupported",
		"sqlite://":                             "path",
		"sqlite://?_fk=true":                    "path",
		"sqlite:///tmp/x.db?%zz":                "query",
		"sqlite:///tmp/x.db?max_conns=0":        "max_conns",
		"postgres://u:" + secret + "@h:port/db": "",
		"postgres://u:" + secret + "%zz@h/db":   "",
		"postgres://u:" + secret + "@h/db?max_conns=abc":                 "max_conns",
		"postgres://u:" + secret + "@h/db?max_conns=-1":                  "max_conns",
		"postgres://u:" + secret + "@h/db?max_idle_conns=-1":             "max_idle_conns",
		"postgres://u:" + secret + "@h/db?max_conn_lifetime=forever":     "max_conn_lifetime",
		"mysql://u:" + secret + "@tcp(h:3306/db":                         "mysql",
		"mysql://u:" + secret + "@h:3306/db":                             "mysql",
		"mysql://u:" + secret + "@tcp(h:3306)/db?max_conns=x":            "max_conns",
		"mysql://u:" + secret + "@tcp(h:3306)/db?parseTime=maybe":        "",
		"mysql://u:" + secret + "@tcp(h:3306)/db?max_conn_lifetime=soon": "max_conn_lifetime",
	}
	for dsn, want := range cases {
		t.Run(dsn, func(t *testing.T) {
			_, err := sqlstore.ParseDSN(dsn)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), url.QueryEscape(secret)) {
				t.Errorf("error reveals the password: %q", err)
			}
		})
	}
}

// TestOpenErrorsHideThePassword connects to closed ports: whatever the
// driver reports must not carry the password.
func TestOpenErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	const secret = "Sup3rSecretPassw0rd"
	for _, dsn := range []string{
		"postgres://hoplite:" + secret + "@127.0.0.1:1/hoplite?sslmode=disable&connect_timeout=2",
		"mysql://hoplite:" + secret + "@tcp(127.0.0.1:1)/hoplite?timeout=2s",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		st, err := sqlstore.Open(ctx, dsn)
		cancel()
		if err == nil {
			st.Close()
			t.Fatalf("%s: connected to a closed port", dsn[:8])
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open error reveals the password: %q", err)
		}
	}
}
