// Package sqlstore is Hoplite's storage: one implementation over
// database/sql for SQLite, PostgreSQL (and CockroachDB's wire dialect) and
// MySQL/MariaDB. Queries are written once with "?" placeholders; the dialect
// rewrites them where needed and translates driver errors into the store
// package's sentinel errors.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/hoplite-id/hoplite/internal/store"
)

// Dialect names a supported SQL dialect.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql"
)

// Store is the SQL storage for every Hoplite domain.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// InMemory is true for the "memory" DSN, whose data lives only as long as
	// the process.
	InMemory bool

	// dsn is the driver DSN, for the dedicated LISTEN connection.
	dsn string
	// sink learns the identities this instance's writes invalidate.
	sink InvalidationSink

	rebound sync.Map // query text with "?" → dialect text (PostgreSQL only)
	stmts   sync.Map // dialect query text → *sql.Stmt, for the hot paths
}

// ParsedDSN is a DSN translated for its database/sql driver.
type ParsedDSN struct {
	Dialect    Dialect
	DriverName string
	DriverDSN  string
	InMemory   bool
	Pool       PoolOptions
}

// PoolOptions are connection pool settings read from the DSN query
// (max_conns, max_idle_conns, max_conn_lifetime), as Kratos accepts them.
type PoolOptions struct {
	MaxConns        int
	MaxIdleConns    int
	MaxConnLifetime time.Duration
}

// ParseDSN understands the DSN forms Kratos documents: "memory",
// sqlite://PATH?…, postgres(ql)://…, cockroach(db)://…, crdb://… and
// mysql://user:pass@tcp(host:port)/db?….
func ParseDSN(dsn string) (ParsedDSN, error) {
	dsn = strings.TrimSpace(dsn)
	switch {
	case dsn == "":
		return ParsedDSN{}, errors.New("dsn is empty")
	case dsn == "memory":
		name := "hoplite-" + randomHex(8)
		return ParsedDSN{
			Dialect: SQLite, DriverName: "sqlite3", InMemory: true,
			DriverDSN: "file:" + name + "?mode=memory&cache=shared&_fk=1&_busy_timeout=10000",
			Pool:      PoolOptions{MaxConns: 1, MaxIdleConns: 1},
		}, nil
	case hasScheme(dsn, "sqlite", "sqlite3"):
		rest := dsn[strings.Index(dsn, "://")+3:]
		path, rawQuery, _ := strings.Cut(rest, "?")
		if path == "" {
			return ParsedDSN{}, errors.New("dsn: sqlite DSN has no file path (expected sqlite://PATH?_fk=true)")
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return ParsedDSN{}, fmt.Errorf("dsn: invalid query: %w", err)
		}
		pool, err := takePoolOptions(q)
		if err != nil {
			return ParsedDSN{}, err
		}
		inMemory := path == ":memory:" || path == "file::memory:" || q.Get("mode") == "memory"
		if inMemory {
			return ParseDSN("memory")
		}
		// Foreign keys must always be on: cascading deletes depend on them.
		q.Del("_fk")
		q.Set("_foreign_keys", "1")
		setDefault(q, "_busy_timeout", "10000")
		setDefault(q, "_journal_mode", "WAL")
		setDefault(q, "_synchronous", "NORMAL")
		// Immediate transactions take the write lock up front, so two writers
		// queue on busy_timeout instead of deadlocking on a lock upgrade.
		setDefault(q, "_txlock", "immediate")
		if pool.MaxConns == 0 {
			pool.MaxConns = 16
		}
		return ParsedDSN{Dialect: SQLite, DriverName: "sqlite3", DriverDSN: "file:" + path + "?" + q.Encode(), Pool: pool}, nil
	case hasScheme(dsn, "postgres", "postgresql", "cockroach", "cockroachdb", "crdb"):
		u, err := url.Parse(dsn)
		if err != nil {
			return ParsedDSN{}, fmt.Errorf("dsn: %w", redactURLError(err))
		}
		u.Scheme = "postgres"
		q := u.Query()
		pool, err := takePoolOptions(q)
		if err != nil {
			return ParsedDSN{}, err
		}
		u.RawQuery = q.Encode()
		if pool.MaxConns == 0 {
			pool.MaxConns = 32
		}
		return ParsedDSN{Dialect: Postgres, DriverName: "pgx", DriverDSN: u.String(), Pool: pool}, nil
	case hasScheme(dsn, "mysql"):
		raw := dsn[strings.Index(dsn, "://")+3:]
		cfg, err := mysql.ParseDSN(raw)
		if err != nil {
			return ParsedDSN{}, fmt.Errorf("dsn: invalid mysql DSN (expected mysql://user:pass@tcp(host:port)/db?…): %v", err)
		}
		q := url.Values{}
		for k, v := range cfg.Params {
			q.Set(k, v)
		}
		pool, err := takePoolOptions(q)
		if err != nil {
			return ParsedDSN{}, err
		}
		cfg.Params = map[string]string{}
		for k := range q {
			cfg.Params[k] = q.Get(k)
		}
		cfg.ParseTime = true
		cfg.Loc = time.UTC
		// RowsAffected must count matched rows, not changed ones: updates
		// that find a row already in the target state still found it.
		cfg.ClientFoundRows = true
		// utf8mb4 with a binary collation: exact matches on identifiers.
		cfg.Collation = "utf8mb4_bin"
		if pool.MaxConns == 0 {
			pool.MaxConns = 32
		}
		return ParsedDSN{Dialect: MySQL, DriverName: "mysql", DriverDSN: cfg.FormatDSN(), Pool: pool}, nil
	default:
		scheme, _, _ := strings.Cut(dsn, "://")
		return ParsedDSN{}, fmt.Errorf("dsn: unsupported database %q; use memory, sqlite://, postgres://, cockroach:// or mysql://", scheme)
	}
}

func hasScheme(dsn string, schemes ...string) bool {
	for _, s := range schemes {
		if strings.HasPrefix(strings.ToLower(dsn), s+"://") {
			return true
		}
	}
	return false
}

func setDefault(q url.Values, k, v string) {
	if q.Get(k) == "" {
		q.Set(k, v)
	}
}

func takePoolOptions(q url.Values) (PoolOptions, error) {
	var p PoolOptions
	var err error
	if v := q.Get("max_conns"); v != "" {
		if p.MaxConns, err = strconv.Atoi(v); err != nil || p.MaxConns < 1 {
			return p, fmt.Errorf("dsn: max_conns must be a positive integer, got %q", v)
		}
	}
	if v := q.Get("max_idle_conns"); v != "" {
		if p.MaxIdleConns, err = strconv.Atoi(v); err != nil || p.MaxIdleConns < 0 {
			return p, fmt.Errorf("dsn: max_idle_conns must be a non-negative integer, got %q", v)
		}
	}
	if v := q.Get("max_conn_lifetime"); v != "" {
		if p.MaxConnLifetime, err = time.ParseDuration(v); err != nil {
			return p, fmt.Errorf("dsn: max_conn_lifetime must be a duration like 1h, got %q", v)
		}
	}
	q.Del("max_conns")
	q.Del("max_idle_conns")
	q.Del("max_conn_lifetime")
	return p, nil
}

// redactURLError keeps passwords from DSNs out of error messages.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New("invalid URL: " + ue.Err.Error())
	}
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ConnectorWrapper wraps the driver's connector, for instrumentation
// (tracing of every query). dialect is the store's Dialect.
type ConnectorWrapper func(dialect Dialect, c driver.Connector) driver.Connector

// Open connects to the database named by dsn. It does not run migrations.
func Open(ctx context.Context, dsn string, wrap ...ConnectorWrapper) (*Store, error) {
	p, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(p.DriverName, p.DriverDSN)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	if len(wrap) > 0 {
		var c driver.Connector = dsnConnector{drv: db.Driver(), dsn: p.DriverDSN}
		if dc, ok := db.Driver().(driver.DriverContext); ok {
			if c, err = dc.OpenConnector(p.DriverDSN); err != nil {
				_ = db.Close()
				return nil, fmt.Errorf("opening database: %w", err)
			}
		}
		_ = db.Close()
		for _, w := range wrap {
			c = w(p.Dialect, c)
		}
		db = sql.OpenDB(c)
	}
	db.SetMaxOpenConns(p.Pool.MaxConns)
	idle := p.Pool.MaxIdleConns
	if idle == 0 {
		idle = p.Pool.MaxConns
	}
	db.SetMaxIdleConns(idle)
	if p.Pool.MaxConnLifetime > 0 {
		db.SetConnMaxLifetime(p.Pool.MaxConnLifetime)
	}
	s := &Store{db: db, dialect: p.Dialect, InMemory: p.InMemory, dsn: p.DriverDSN}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connecting to the %s database: %w", p.Dialect, err)
	}
	return s, nil
}

// dsnConnector is the connector of a driver without driver.DriverContext.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// Close closes the prepared statements and the connection pool.
func (s *Store) Close() error {
	s.stmts.Range(func(k, v any) bool {
		_ = v.(*sql.Stmt).Close()
		s.stmts.Delete(k)
		return true
	})
	return s.db.Close()
}

// Dialect reports the database dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the pool (for tests and benchmarks).
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// q rewrites a "?"-placeholder query for the dialect.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	s.rebound.Store(query, out)
	return out
}

// prepared returns a prepared statement for a fixed query (never for
// queries built with a variable number of placeholders: the cache is not
// bounded). SQLite compiles a statement on every unprepared query, which for
// the session lookup join costs more than running it; database/sql keeps one
// prepared copy per connection.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	q := s.q(query)
	if v, ok := s.stmts.Load(q); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, s.mapErr(err)
	}
	if v, loaded := s.stmts.LoadOrStore(q, st); loaded {
		_ = st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// stmtQuerier runs queries on prepared statements, for hot read paths.
type stmtQuerier struct{ s *Store }

func (p stmtQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (p stmtQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.s.prepared(ctx, query)
	if err != nil {
		return p.s.db.QueryRowContext(ctx, p.s.q(query), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (p stmtQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// arg is the placeholder for a text value compared in a WHERE clause of a hot
// query. On SQLite it is wrapped in a CAST: a bare "col = ?" lets the query
// planner mark the statement as "re-prepare when this binding changes", and
// the driver resets bindings after every use, so the statement would be
// compiled again on every execution (it doubled the cost of a session
// lookup). The CAST keeps the plan (the index is still used) and the
// statement prepared.
func (s *Store) arg() string {
	if s.dialect == SQLite {
		return "CAST(? AS TEXT)"
	}
	return "?"
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txAttempts is how often a transaction runs when the database aborts it
// to break a deadlock or a serialization conflict.
const txAttempts = 4

// tx runs fn in a transaction, committing when it returns nil (see runTx).
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.runTx(ctx, nil, fn)
}

// runTx is the one transaction helper: it runs fn in a transaction with
// opts, committing when fn returns nil. When the database aborts the
// transaction to resolve a conflict with a concurrent one (two writers
// touching the same identity's rows, two courier workers claiming
// messages), the whole transaction is run again after a short, growing,
// jittered pause: the other side has finished or given up by then. fn must
// therefore have no effects outside the transaction.
func (s *Store) runTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 1; attempt <= txAttempts; attempt++ {
		err = s.txOnce(ctx, opts, fn)
		if err == nil || !isTxConflict(err) || attempt == txAttempts {
			break
		}
		pause := time.Duration(attempt*attempt) * time.Duration(2+mrand.IntN(8)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return s.mapErr(err)
}

func (s *Store) txOnce(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isTxConflict tells whether the database rolled a transaction back (or
// gave up waiting for a lock) to resolve a conflict with another one, so
// that running it again can succeed. (SQLite takes its write lock up front
// and waits instead.)
func isTxConflict(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001" // deadlock, serialization failure
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205 // deadlock, lock wait timeout
	}
	return false
}

// mapErr translates driver errors into store sentinels.
func (s *Store) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return err
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		if se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
		if se.ExtendedCode == sqlite3.ErrConstraintForeignKey {
			// The row refers to one that is gone (an identity deleted
			// while a session was being written for it).
			return fmt.Errorf("%w: %v", store.ErrNotFound, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%w: %s", store.ErrConflict, pe.ConstraintName)
		case "23503": // foreign_key_violation: the referenced row is gone
			return fmt.Errorf("%w: %s", store.ErrNotFound, pe.ConstraintName)
		case "22021", "22P05": // character_not_in_repertoire (NUL), untranslatable_character
			return fmt.Errorf("%w: %s", store.ErrInvalidText, pe.Message)
		}
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1062:
			return fmt.Errorf("%w: %s", store.ErrConflict, me.Message)
		case 1452: // a foreign key fails: the referenced row is gone
			return fmt.Errorf("%w: %s", store.ErrNotFound, me.Message)
		case 1366, 1300: // incorrect string value, invalid character string
			return fmt.Errorf("%w: %s", store.ErrInvalidText, me.Message)
		}
	}
	return err
}
