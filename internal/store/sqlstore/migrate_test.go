package sqlstore_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

func open(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fingerprint lists the tables with their columns, and the indexes, of the
// store's database: what "the schema" is for these tests.
func fingerprint(t *testing.T, st *sqlstore.Store) []string {
	t.Helper()
	var colQuery, idxQuery string
	switch st.Dialect() {
	case sqlstore.SQLite:
		colQuery = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
		idxQuery = `SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'`
	case sqlstore.Postgres:
		colQuery = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`
		idxQuery = `SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema()`
	case sqlstore.MySQL:
		colQuery = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = DATABASE()`
		idxQuery = `SELECT DISTINCT table_name, index_name FROM information_schema.statistics WHERE table_schema = DATABASE()`
	}
	var out []string
	for prefix, q := range map[string]string{"column": colQuery, "index": idxQuery} {
		rows, err := st.DB().Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, prefix+" "+a+"."+b)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	slices.Sort(out)
	return out
}

var createTableRE = regexp.MustCompile(`(?i)CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)`)

// declaredTables are the tables the embedded migrations create.
func declaredTables(t *testing.T, st *sqlstore.Store) []string {
	t.Helper()
	ms, err := st.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"hoplite_migrations"}
	for _, m := range ms {
		for _, g := range createTableRE.FindAllStringSubmatch(m.SQL, -1) {
			out = append(out, strings.ToLower(g[1]))
		}
	}
	return out
}

func bookkeeping(t *testing.T, st *sqlstore.Store) []int64 {
	t.Helper()
	rows, err := st.DB().Query("SELECT version FROM hoplite_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func versions(ms []sqlstore.Migration) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.Version)
	}
	return out
}

func TestMigrateIdempotent(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		dsn := b.NewDSN(t)
		st := open(t, dsn)
		all, err := st.Migrations()
		if err != nil || len(all) == 0 {
			t.Fatalf("embedded migrations: %v %v", all, err)
		}
		for k := 1; k < len(all); k++ {
			if all[k].Version <= all[k-1].Version {
				t.Fatalf("migrations out of order: %d after %d", all[k].Version, all[k-1].Version)
			}
		}
		if n, err := st.PendingMigrations(ctx); err != nil || n != len(all) {
			t.Fatalf("pending on an empty database: %d %v, want %d", n, err, len(all))
		}
		status, err := st.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range status {
			if m.Applied || m.AppliedAt != nil {
				t.Errorf("%d applied on an empty database", m.Version)
			}
		}

		applied, err := st.Migrate(ctx)
		if err != nil {
			t.Fatalf("first migrate: %v", err)
		}
		if !slices.Equal(versions(applied), versions(all)) {
			t.Errorf("first run applied %v, want %v", versions(applied), versions(all))
		}
		if n, err := st.PendingMigrations(ctx); err != nil || n != 0 {
			t.Errorf("pending after migrating: %d %v", n, err)
		}
		status, err = st.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range status {
			if !m.Applied || m.AppliedAt == nil || time.Since(*m.AppliedAt) > time.Hour || time.Until(*m.AppliedAt) > time.Minute {
				t.Errorf("status of %d after migrating: applied %v at %v", m.Version, m.Applied, m.AppliedAt)
			}
		}
		before := fingerprint(t, st)

		// Second run: nothing to do, nothing changed.
		applied, err = st.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Errorf("second migrate applied %v (err %v)", versions(applied), err)
		}
		if after := fingerprint(t, st); !slices.Equal(before, after) {
			t.Errorf("second migrate changed the schema")
		}
		if got := bookkeeping(t, st); !slices.Equal(got, versions(all)) {
			t.Errorf("bookkeeping %v, want %v", got, versions(all))
		}
		// Every declared table exists.
		for _, table := range declaredTables(t, st) {
			if !slices.ContainsFunc(before, func(s string) bool { return strings.HasPrefix(s, "column "+table+".") }) {
				t.Errorf("table %s missing after migrating", table)
			}
		}
		// A fresh pool over the same database sees it migrated.
		st2 := open(t, dsn)
		if n, err := st2.PendingMigrations(ctx); err != nil || n != 0 {
			t.Errorf("pending seen from another pool: %d %v", n, err)
		}
	})
}

func TestMigrateConcurrently(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		// The reference: one database migrated alone.
		ref := open(t, b.NewDSN(t))
		if _, err := ref.Migrate(ctx); err != nil {
			t.Fatalf("reference migrate: %v", err)
		}
		want := fingerprint(t, ref)
		all, _ := ref.Migrations()

		const rounds, racers = 3, 3
		for round := range rounds {
			dsn := b.NewDSN(t)
			stores := make([]*sqlstore.Store, racers)
			for k := range stores {
				stores[k] = open(t, dsn) // separate pools
			}
			start := make(chan struct{})
			results := make([][]sqlstore.Migration, racers)
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for k := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					mctx, cancel := context.WithTimeout(ctx, 60*time.Second)
					defer cancel()
					results[k], errs[k] = stores[k].Migrate(mctx)
				}()
			}
			close(start)
			wg.Wait()

			total := 0
			for k := range stores {
				if errs[k] != nil {
					t.Errorf("round %d, migrator %d: %v", round, k, errs[k])
				}
				total += len(results[k])
			}
			if total != len(all) {
				t.Errorf("round %d: %d migrations applied in total by %d racers, want each of %d exactly once", round, total, racers, len(all))
			}
			if got := bookkeeping(t, stores[0]); !slices.Equal(got, versions(all)) {
				t.Errorf("round %d: bookkeeping %v, want %v", round, got, versions(all))
			}
			if got := fingerprint(t, stores[1]); !slices.Equal(got, want) {
				t.Errorf("round %d: schema differs from a database migrated alone:\n got %v\nwant %v", round, got, want)
			}
			for k, st := range stores {
				if n, err := st.PendingMigrations(ctx); err != nil || n != 0 {
					t.Errorf("round %d, pool %d: pending %d %v", round, k, n, err)
				}
			}
			// The schema works: a row goes in and out.
			if _, err := stores[2].DB().Exec(rebind(stores[2], "INSERT INTO hoplite_migrations (version, name, applied_at) VALUES (?, ?, ?)"), 999999, "probe", time.Now().UTC()); err != nil {
				t.Errorf("round %d: writing after the race: %v", round, err)
			}
		}
	})
}

func rebind(st *sqlstore.Store, q string) string {
	if st.Dialect() != sqlstore.Postgres {
		return q
	}
	n := 0
	return regexp.MustCompile(`\?`).ReplaceAllStringFunc(q, func(string) string { n++; return fmt.Sprintf("$%d", n) })
}
