package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// Migration is one embedded, forward-only schema change.
type Migration struct {
	Version int64
	Name    string
	SQL     string
}

// MigrationState pairs a migration with whether it has been applied.
type MigrationState struct {
	Migration
	Applied   bool
	AppliedAt *time.Time
}

// Migrations lists the embedded migrations of the store's dialect in order.
func (s *Store) Migrations() ([]Migration, error) {
	return loadMigrations(s.dialect)
}

func loadMigrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		if !ok {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_name.sql", e.Name())
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration file %s: bad version: %w", e.Name(), err)
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// statements splits a migration file into statements: they end with ";" at
// the end of a line, and "--" comment lines are dropped.
func statements(sqlText string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sqlText, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			stmt := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, stmt)
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}

func (s *Store) bookkeepingDDL() string {
	ts := "TIMESTAMP"
	if s.dialect == MySQL {
		ts = "DATETIME(6)"
	}
	return "CREATE TABLE IF NOT EXISTS hoplite_migrations (version BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at " + ts + " NOT NULL)"
}

// MigrationStatus reports every embedded migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	all, err := s.Migrations()
	if err != nil {
		return nil, err
	}
	applied, err := s.appliedVersions(ctx, s.db)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationState, len(all))
	for i, m := range all {
		out[i].Migration = m
		if at, ok := applied[m.Version]; ok {
			out[i].Applied = true
			at := at
			out[i].AppliedAt = &at
		}
	}
	return out, nil
}

// PendingMigrations counts migrations not yet applied.
func (s *Store) PendingMigrations(ctx context.Context) (int, error) {
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range st {
		if !m.Applied {
			n++
		}
	}
	return n, nil
}

func (s *Store) appliedVersions(ctx context.Context, q querier) (map[int64]time.Time, error) {
	rows, err := q.QueryContext(ctx, "SELECT version, applied_at FROM hoplite_migrations")
	if err != nil {
		if s.isMissingTable(err) {
			return map[int64]time.Time{}, nil
		}
		return nil, fmt.Errorf("reading applied migrations: %w", err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var v int64
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			return nil, err
		}
		out[v] = at
	}
	return out, rows.Err()
}

func (s *Store) isMissingTable(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "no such table") || // SQLite
		strings.Contains(msg, "does not exist") || // PostgreSQL
		strings.Contains(msg, "doesn't exist") // MySQL
}

// Migrate applies every pending migration. It is safe to run from several
// processes at once: PostgreSQL and MySQL serialise on a database-wide lock,
// SQLite on its write lock (each migration is one immediate transaction that
// re-checks whether it was applied meanwhile).
func (s *Store) Migrate(ctx context.Context) (applied []Migration, err error) {
	all, err := s.Migrations()
	if err != nil {
		return nil, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()

	unlock, err := s.lockMigrations(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if s.dialect != SQLite {
		if _, err := conn.ExecContext(ctx, s.bookkeepingDDL()); err != nil {
			return nil, fmt.Errorf("creating migration table: %w", err)
		}
	}
	for _, m := range all {
		done, err := s.applyOne(ctx, conn, m)
		if err != nil {
			return applied, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if done {
			applied = append(applied, m)
		}
	}
	return applied, nil
}

func (s *Store) lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	switch s.dialect {
	case Postgres:
		// An arbitrary constant key ("hoplite" in ASCII) for the advisory lock.
		const key = 0x686f706c697465
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
			return nil, fmt.Errorf("taking the migration lock: %w", err)
		}
		return func() { _, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", key) }, nil
	case MySQL:
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(CONCAT('hoplite_migrations:', DATABASE()), 600)").Scan(&got); err != nil {
			return nil, fmt.Errorf("taking the migration lock: %w", err)
		}
		if !got.Valid || got.Int64 != 1 {
			return nil, fmt.Errorf("taking the migration lock: timed out waiting for another migration")
		}
		return func() {
			_, _ = conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(CONCAT('hoplite_migrations:', DATABASE()))")
		}, nil
	default:
		return func() {}, nil
	}
}

// applyOne applies m unless it is recorded already. SQLite and PostgreSQL run
// the DDL and the bookkeeping row in one transaction; MySQL commits DDL
// implicitly, so there the database lock is what prevents double application.
func (s *Store) applyOne(ctx context.Context, conn *sql.Conn, m Migration) (bool, error) {
	if s.dialect == MySQL {
		applied, err := s.appliedVersions(ctx, conn)
		if err != nil {
			return false, err
		}
		if _, ok := applied[m.Version]; ok {
			return false, nil
		}
		for _, stmt := range statements(m.SQL) {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return false, fmt.Errorf("%w\nstatement: %s", err, stmt)
			}
		}
		_, err = conn.ExecContext(ctx, "INSERT INTO hoplite_migrations (version, name, applied_at) VALUES (?, ?, ?)", m.Version, m.Name, time.Now().UTC())
		return err == nil, err
	}

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	if s.dialect == SQLite {
		if _, err := tx.ExecContext(ctx, s.bookkeepingDDL()); err != nil {
			return false, err
		}
	}
	applied, err := s.appliedVersions(ctx, tx)
	if err != nil {
		return false, err
	}
	if _, ok := applied[m.Version]; ok {
		return false, nil
	}
	for _, stmt := range statements(m.SQL) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("%w\nstatement: %s", err, stmt)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q("INSERT INTO hoplite_migrations (version, name, applied_at) VALUES (?, ?, ?)"), m.Version, m.Name, time.Now().UTC()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
