// Package testutil starts real Hoplite servers for tests: in-process, on
// random loopback ports, each over its own fresh database (a new SQLite
// file, or a uniquely named PostgreSQL or MySQL database when the
// HOPLITE_TEST_POSTGRES_DSN / HOPLITE_TEST_MYSQL_DSN variables name a server).
package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// Backend is a database kind tests can run against.
type Backend struct {
	Name string
	// NewDSN creates a fresh, empty database for one test and returns its
	// DSN; the database is dropped when the test ends.
	NewDSN func(t testing.TB) string
}

// Environment variables naming database servers for the test suites.
const (
	EnvPostgres = "HOPLITE_TEST_POSTGRES_DSN"
	EnvMySQL    = "HOPLITE_TEST_MYSQL_DSN"
)

// Backends lists SQLite always, and PostgreSQL and MySQL when their DSN
// variables are set.
func Backends() []Backend {
	out := []Backend{{Name: "sqlite", NewDSN: NewSQLiteDSN}}
	if os.Getenv(EnvPostgres) != "" {
		out = append(out, Backend{Name: "postgres", NewDSN: NewPostgresDSN})
	}
	if os.Getenv(EnvMySQL) != "" {
		out = append(out, Backend{Name: "mysql", NewDSN: NewMySQLDSN})
	}
	return out
}

// ForEachBackend runs fn as a parallel subtest per available backend.
func ForEachBackend(t *testing.T, fn func(t *testing.T, b Backend)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "hoplite_t_" + hex.EncodeToString(b)
}

// NewSQLiteDSN returns a DSN of a new SQLite file in the test's temp dir.
func NewSQLiteDSN(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "db.sqlite") + "?_fk=true"
}

// NewPostgresDSN creates a fresh PostgreSQL database on the server named by
// HOPLITE_TEST_POSTGRES_DSN.
func NewPostgresDSN(t testing.TB) string {
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Fatalf("%s is not set", EnvPostgres)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	u.Scheme = "postgres"
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	name := randomName()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	})
	u.Path = "/" + name
	return u.String()
}

// NewMySQLDSN creates a fresh MySQL database on the server named by
// HOPLITE_TEST_MYSQL_DSN (mysql://user:pass@tcp(host:port)/db?…).
func NewMySQLDSN(t testing.TB) string {
	base := os.Getenv(EnvMySQL)
	if base == "" {
		t.Fatalf("%s is not set", EnvMySQL)
	}
	raw := strings.TrimPrefix(base, "mysql://")
	cfg, err := mysql.ParseDSN(raw)
	if err != nil {
		t.Fatalf("%s: %v", EnvMySQL, err)
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	name := randomName()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
		admin.Close()
	})
	cfg.DBName = name
	return "mysql://" + cfg.FormatDSN()
}

// Describe is a short label for logs.
func (b Backend) Describe() string { return fmt.Sprintf("backend %s", b.Name) }
