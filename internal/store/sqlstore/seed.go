package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
)

// Bulk seeding for load tests and benchmarks (cmd/hoplite-bench), and for
// moving data in from Kratos (internal/kratosimport, through a Seeder with
// Durable set).
//
// The rows are exactly those CreateIdentity and CreateSession write (same
// columns, same Go values bound through the same driver), but many rows go
// into one multi-row INSERT (one COPY on PostgreSQL) and many statements
// into one transaction, so a hundred thousand identities take seconds
// instead of minutes. Nothing here
// validates: callers pass identities as identity.Service.Prepare leaves
// them and sessions as session.Manager.Persist hands them to the store.

// SeedOptions tune bulk seeding. Zero values pick defaults.
type SeedOptions struct {
	// TxRows is how many identities (or sessions) one transaction carries.
	// Default 10000.
	TxRows int
	// Workers is how many transactions run at once. SQLite has one writer,
	// so it always uses 1; the default elsewhere is 4.
	Workers int
	// Durable keeps SQLite's synchronous commits: without it, seeding
	// turns them off, which a benchmark's throw-away data can afford and
	// real data cannot (a power loss could corrupt the file). PostgreSQL's
	// synchronous_commit stays off either way: a crash can lose the last
	// commits but never corrupts anything.
	Durable bool
}

func (o SeedOptions) withDefaults(d Dialect) SeedOptions {
	if o.TxRows <= 0 {
		o.TxRows = 10000
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if d == SQLite {
		o.Workers = 1
	}
	return o
}

// SeedStatementParams is the most placeholders one seeding INSERT
// carries, under the dialect's limit: SQLite's is 32766
// (SQLITE_MAX_VARIABLE_NUMBER), PostgreSQL's and MySQL's 65535. (PostgreSQL
// seeds with COPY, which has no such limit.)
func (s *Store) SeedStatementParams() int {
	if s.dialect == SQLite {
		return 32000
	}
	return 65000
}

// SeedIdentities inserts identities with their credentials, credential
// identifiers and verifiable and recovery addresses. Credentials without an
// id get one (as CreateIdentity does). A taken id, identifier or address
// fails the whole batch it is in with store.ErrConflict.
func (s *Store) SeedIdentities(ctx context.Context, ids []*identity.Identity, opts SeedOptions) error {
	opts = opts.withDefaults(s.dialect)
	return s.seedParallel(ctx, len(ids), opts, func(tx bulkTx, from, to int) error {
		return s.seedIdentityBatch(ctx, tx, ids[from:to])
	})
}

// SeedSessions inserts sessions by their token hashes (TokenHash must be
// set, as Manager.Persist sets it). Their identities must exist.
func (s *Store) SeedSessions(ctx context.Context, sessions []*session.Session, opts SeedOptions) error {
	opts = opts.withDefaults(s.dialect)
	return s.seedParallel(ctx, len(sessions), opts, func(tx bulkTx, from, to int) error {
		return s.seedSessionBatch(ctx, tx, sessions[from:to])
	})
}

// FinishSeeding leaves the database as a long-running one would be after
// such an insert: PostgreSQL and MySQL get fresh planner statistics (which
// autovacuum or InnoDB would gather on their own shortly), SQLite folds its
// write-ahead log back into the database file.
func (s *Store) FinishSeeding(ctx context.Context) error {
	var stmts []string
	switch s.dialect {
	case Postgres:
		stmts = []string{"ANALYZE"}
	case MySQL:
		stmts = []string{"ANALYZE TABLE identities, identity_credentials, identity_credential_identifiers, identity_verifiable_addresses, identity_recovery_addresses, sessions"}
	case SQLite:
		stmts = []string{"PRAGMA wal_checkpoint(TRUNCATE)"}
	}
	for _, q := range stmts {
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		for rows.Next() {
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// seedSessionSettings are set on each seeding connection (and reset after):
// bulk loading needs no per-commit durability (a crash means seeding again)
// and wants SQLite's page cache large enough for the indexes.
func (s *Store) seedSessionSettings(durable bool) (set, reset []string) {
	switch s.dialect {
	case SQLite:
		if durable {
			return []string{"PRAGMA cache_size = -262144"}, []string{"PRAGMA cache_size = -2000"}
		}
		return []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -262144"},
			[]string{"PRAGMA synchronous = NORMAL", "PRAGMA cache_size = -2000"}
	case Postgres:
		return []string{"SET synchronous_commit = off"}, []string{"RESET synchronous_commit"}
	}
	return nil, nil
}

// Seeder writes batches of identities and sessions over one dedicated
// connection, each batch in one transaction, for a caller that streams a
// large data set page by page (the move from Kratos). Keeping the one
// connection matters for SQLite: its page cache belongs to the connection,
// and a connection handed back to the pool gets its usual small cache back,
// which drops the cached index pages. A move that took a fresh connection
// per page re-read its indexes from the file on every page, a cost that
// grows with the indexes, so the whole move grew faster than the data.
type Seeder struct {
	s     *Store
	conn  *sql.Conn
	reset []string
}

// NewSeeder takes a connection from the pool for bulk writes (see
// SeedOptions.Durable) until Close.
func (s *Store) NewSeeder(ctx context.Context, durable bool) (*Seeder, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.mapErr(err)
	}
	set, reset := s.seedSessionSettings(durable)
	for _, q := range set {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	return &Seeder{s: s, conn: conn, reset: reset}, nil
}

// Close restores the connection's usual settings and hands it back.
func (sd *Seeder) Close() error {
	for _, q := range sd.reset {
		_, _ = sd.conn.ExecContext(context.Background(), q)
	}
	return sd.conn.Close()
}

// Identities inserts identities as SeedIdentities does, all in one
// transaction: a taken id, identifier or address fails them all with
// store.ErrConflict and writes none.
func (sd *Seeder) Identities(ctx context.Context, ids []*identity.Identity) error {
	return sd.tx(ctx, func(tx bulkTx) error { return sd.s.seedIdentityBatch(ctx, tx, ids) })
}

// Sessions inserts sessions as SeedSessions does, all in one transaction.
func (sd *Seeder) Sessions(ctx context.Context, sessions []*session.Session) error {
	return sd.tx(ctx, func(tx bulkTx) error { return sd.s.seedSessionBatch(ctx, tx, sessions) })
}

func (sd *Seeder) tx(ctx context.Context, fn func(tx bulkTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := sd.conn.BeginTx(ctx, nil)
	if err != nil {
		return sd.s.mapErr(err)
	}
	if err := fn(bulkTx{tx: tx, conn: sd.conn}); err != nil {
		_ = tx.Rollback()
		return sd.s.mapErr(err)
	}
	return sd.s.mapErr(tx.Commit())
}

// seedParallel cuts n rows into transactions of opts.TxRows and runs them
// on opts.Workers seeders. The first error stops the rest.
func (s *Store) seedParallel(ctx context.Context, n int, opts SeedOptions, batch func(tx bulkTx, from, to int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	go func() {
		defer close(next)
		for from := 0; from < n; from += opts.TxRows {
			select {
			case next <- from:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for w := 0; w < opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sd, err := s.NewSeeder(ctx, opts.Durable)
			if err != nil {
				fail(err)
				return
			}
			defer sd.Close()
			for from := range next {
				to := min(from+opts.TxRows, n)
				if err := sd.tx(ctx, func(tx bulkTx) error { return batch(tx, from, to) }); err != nil {
					fail(fmt.Errorf("rows %d-%d: %w", from, to-1, err))
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func (s *Store) seedSessionBatch(ctx context.Context, tx bulkTx, batch []*session.Session) error {
	return s.insertRows(ctx, tx, "sessions",
		[]string{"id", "identity_id", "token_hash", "active", "aal", "authentication_methods", "issued_at", "expires_at", "authenticated_at", "created_at", "updated_at"},
		len(batch), func(k int, a []any) []any {
			x := batch[k]
			return append(a, x.ID, x.IdentityID, x.TokenHash, x.Active, x.AAL, methodsJSON(x),
				x.IssuedAt, x.ExpiresAt, x.AuthenticatedAt, x.CreatedAt, x.UpdatedAt)
		})
}

func (s *Store) seedIdentityBatch(ctx context.Context, tx bulkTx, ids []*identity.Identity) error {
	type cred struct {
		i *identity.Identity
		c identity.Credentials
	}
	type ident struct {
		cred  *cred
		value string
	}
	var creds []*cred
	var idents []ident
	var vas []identity.VerifiableAddress
	var ras []identity.RecoveryAddress
	for _, i := range ids {
		for _, t := range i.CredentialsTypes() {
			c, ok := i.Credentials[t]
			if !ok {
				continue
			}
			if c.ID == uuid.Nil {
				c.ID = uuid.New()
				i.Credentials[t] = c
			}
			if c.Type == "" {
				c.Type = t
			}
			cr := &cred{i: i, c: c}
			creds = append(creds, cr)
			for _, v := range c.Identifiers {
				idents = append(idents, ident{cred: cr, value: v})
			}
		}
		for _, a := range i.VerifiableAddresses {
			a.IdentityID = i.ID
			vas = append(vas, a)
		}
		for _, a := range i.RecoveryAddresses {
			a.IdentityID = i.ID
			ras = append(ras, a)
		}
	}

	if err := s.insertRows(ctx, tx, "identities",
		[]string{"id", "schema_id", "traits", "state", "state_changed_at", "available_aal", "metadata_public", "metadata_admin", "created_at", "updated_at"},
		len(ids), func(k int, a []any) []any {
			i := ids[k]
			return append(a, i.ID, i.SchemaID, string(i.Traits), string(i.State), nullTime(i.StateChangedAt), i.AvailableAAL,
				nullJSON(i.MetadataPublic), nullJSON(i.MetadataAdmin), i.CreatedAt, i.UpdatedAt)
		}); err != nil {
		return err
	}
	if err := s.insertRows(ctx, tx, "identity_credentials",
		[]string{"id", "identity_id", "type", "config", "version", "created_at", "updated_at"},
		len(creds), func(k int, a []any) []any {
			c := creds[k]
			cfg := c.c.Config
			if len(cfg) == 0 {
				cfg = json.RawMessage("{}")
			}
			return append(a, c.c.ID, c.i.ID, string(c.c.Type), string(cfg), c.c.Version, c.c.CreatedAt, c.c.UpdatedAt)
		}); err != nil {
		return err
	}
	if err := s.insertRows(ctx, tx, "identity_credential_identifiers",
		[]string{"id", "identity_id", "credential_id", "type", "identifier", "created_at", "updated_at"},
		len(idents), func(k int, a []any) []any {
			x := idents[k]
			return append(a, uuid.New(), x.cred.i.ID, x.cred.c.ID, string(x.cred.c.Type), x.value, x.cred.c.CreatedAt, x.cred.c.UpdatedAt)
		}); err != nil {
		return err
	}
	if err := s.insertRows(ctx, tx, "identity_verifiable_addresses",
		[]string{"id", "identity_id", "via", "value", "verified", "status", "verified_at", "created_at", "updated_at"},
		len(vas), func(k int, a []any) []any {
			x := vas[k]
			return append(a, x.ID, x.IdentityID, x.Via, x.Value, x.Verified, x.Status, nullTime(x.VerifiedAt), x.CreatedAt, x.UpdatedAt)
		}); err != nil {
		return err
	}
	return s.insertRows(ctx, tx, "identity_recovery_addresses",
		[]string{"id", "identity_id", "via", "value", "created_at", "updated_at"},
		len(ras), func(k int, a []any) []any {
			x := ras[k]
			return append(a, x.ID, x.IdentityID, x.Via, x.Value, x.CreatedAt, x.UpdatedAt)
		})
}

// bulkTx is one seeding transaction and the connection it runs on, which
// PostgreSQL's COPY needs.
type bulkTx struct {
	tx   *sql.Tx
	conn *sql.Conn
}

// insertRows writes n rows into table: on PostgreSQL with COPY, elsewhere
// with as few multi-row INSERT statements as the dialect's placeholder limit
// allows. row appends the values of row k, in cols order, to a and returns
// it.
func (s *Store) insertRows(ctx context.Context, tx bulkTx, table string, cols []string, n int, row func(k int, a []any) []any) error {
	if n == 0 {
		return nil
	}
	if s.dialect == Postgres {
		return s.copyRows(ctx, tx, table, cols, n, row)
	}
	per := max(1, s.SeedStatementParams()/len(cols))
	args := make([]any, 0, min(per, n)*len(cols))
	for from := 0; from < n; from += per {
		to := min(from+per, n)
		args = args[:0]
		for k := from; k < to; k++ {
			args = row(k, args)
		}
		if len(args) != (to-from)*len(cols) {
			return fmt.Errorf("seeding %s: %d values for %d rows of %d columns", table, len(args), to-from, len(cols))
		}
		if _, err := tx.tx.ExecContext(ctx, s.multiRowInsert(table, cols, to-from), args...); err != nil {
			return fmt.Errorf("seeding %s: %w", table, err)
		}
	}
	return nil
}

// copyRows writes n rows with PostgreSQL's COPY, inside the transaction
// tx runs on its connection. COPY streams the rows in the binary format
// with no statement to parse or plan, where a multi-row INSERT of
// thousands of placeholders costs a parse, a plan and a text conversion of
// every value; the constraints (unique indexes, foreign keys) are checked
// the same way, and a violation fails the COPY with the same error codes.
// The values are the same Go values INSERT binds, encoded by the same pgx
// type map.
func (s *Store) copyRows(ctx context.Context, tx bulkTx, table string, cols []string, n int, row func(k int, a []any) []any) error {
	err := tx.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected PostgreSQL driver connection %T", dc)
		}
		src := &copySource{n: n, k: -1, row: row, vals: make([]any, 0, len(cols)), cols: len(cols)}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, src)
		return err
	})
	if err != nil {
		return fmt.Errorf("seeding %s: %w", table, err)
	}
	return nil
}

// copySource hands insertRows' rows to pgx's CopyFrom one at a time (pgx
// encodes each row before asking for the next, so one slice is reused).
type copySource struct {
	n, k, cols int
	row        func(k int, a []any) []any
	vals       []any
	err        error
}

func (c *copySource) Next() bool {
	c.k++
	return c.k < c.n && c.err == nil
}

func (c *copySource) Values() ([]any, error) {
	c.vals = c.row(c.k, c.vals[:0])
	if len(c.vals) != c.cols {
		c.err = fmt.Errorf("%d values for %d columns", len(c.vals), c.cols)
		return nil, c.err
	}
	for k, v := range c.vals {
		// uuid.UUID is a driver.Valuer giving text, which pgx, writing
		// the binary format, fails to encode, then parses back into a
		// UUID (an error and a parse per value); its 16 bytes are the same
		// value and encode directly.
		if id, ok := v.(uuid.UUID); ok {
			c.vals[k] = [16]byte(id)
		}
	}
	return c.vals, nil
}

func (c *copySource) Err() error { return c.err }

// multiRowInsert builds INSERT INTO table (cols) VALUES (…), (…) for rows
// rows, with the dialect's placeholders.
func (s *Store) multiRowInsert(table string, cols []string, rows int) string {
	var b strings.Builder
	b.Grow(32 + len(table) + 16*len(cols) + rows*len(cols)*7)
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") VALUES ")
	n := 0
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			if s.dialect == Postgres {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}
