package kratosimport

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
)

// source reads a Kratos v0.9 database. It never writes: SQLite files are
// opened read-only, and every read runs in a read-only transaction, which
// PostgreSQL and MySQL enforce.
type source struct {
	db      *sql.DB
	dialect sqlstore.Dialect
	nid     string

	// Columns that only some Kratos versions have.
	hasMetadata          bool
	hasCredentialVersion bool
}

// openSource connects to the Kratos database named by dsn, in the DSN forms
// Kratos documents.
func openSource(ctx context.Context, dsn string) (*source, error) {
	p, err := sqlstore.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	driverDSN := p.DriverDSN
	switch {
	case p.InMemory:
		return nil, errors.New("source: an in-memory Kratos database cannot be read by another process")
	case p.Dialect == sqlstore.SQLite:
		// Not sqlstore's SQLite settings: they switch the journal mode,
		// which writes. mode=ro and query_only keep the file untouched.
		rest := strings.TrimSpace(dsn)
		rest = rest[strings.Index(rest, "://")+3:]
		path, _, _ := strings.Cut(rest, "?")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		driverDSN = "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_query_only=1&_busy_timeout=10000"
	}
	db, err := sql.Open(p.DriverName, driverDSN)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	db.SetMaxOpenConns(4)
	s := &source{db: db, dialect: p.Dialect}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("source: connecting to the %s database: %w", p.Dialect, err)
	}
	return s, nil
}

func (s *source) Close() error { return s.db.Close() }

// q rewrites "?" placeholders for PostgreSQL.
func (s *source) q(query string) string { return rebind(s.dialect, query) }

func rebind(d sqlstore.Dialect, query string) string {
	if d != sqlstore.Postgres {
		return query
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
	return b.String()
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// read runs one query in a read-only transaction and hands each row to scan.
func (s *source) read(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to keep
	rows, err := tx.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return tx.Commit()
}

// columns lists a table's columns.
func (s *source) columns(ctx context.Context, table string) (map[string]bool, error) {
	out := map[string]bool{}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck
	rows, err := tx.QueryContext(ctx, "SELECT * FROM "+table+" WHERE 1 = 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	for _, c := range cols {
		out[strings.ToLower(c)] = true
	}
	return out, nil
}

// inspect checks that the database is a Kratos one, picks the network to
// read and notes which optional columns exist.
func (s *source) inspect(ctx context.Context, nid string) error {
	var nids []string
	err := s.read(ctx, "SELECT id FROM networks ORDER BY created_at, id", nil, func(r *sql.Rows) error {
		var id flexString
		if err := r.Scan(&id); err != nil {
			return err
		}
		nids = append(nids, string(id))
		return nil
	})
	if err != nil {
		return fmt.Errorf("the source does not look like a Kratos v0.9 database (reading its networks table failed: %v)", err)
	}
	switch {
	case nid != "":
		found := false
		for _, n := range nids {
			found = found || strings.EqualFold(n, nid)
		}
		if !found {
			return fmt.Errorf("the source has no network %s (it has: %s)", nid, strings.Join(nids, ", "))
		}
		s.nid = strings.ToLower(nid)
	case len(nids) == 1:
		s.nid = nids[0]
	case len(nids) == 0:
		return errors.New("the source has no network: is it a Kratos database that was migrated but never started?")
	default:
		return fmt.Errorf("the source holds %d networks; choose one with --network (%s)", len(nids), strings.Join(nids, ", "))
	}
	for _, t := range []string{"identities", "identity_credentials", "identity_credential_types", "identity_credential_identifiers",
		"identity_verifiable_addresses", "identity_recovery_addresses", "sessions"} {
		cols, err := s.columns(ctx, t)
		if err != nil {
			return fmt.Errorf("the source does not look like a Kratos v0.9 database (table %s: %v)", t, err)
		}
		switch t {
		case "identities":
			s.hasMetadata = cols["metadata_public"] && cols["metadata_admin"]
		case "identity_credentials":
			s.hasCredentialVersion = cols["version"]
		}
	}
	return nil
}

// count returns the number of rows of a table in the network.
func (s *source) count(ctx context.Context, table string) (int, error) {
	var n int
	err := s.read(ctx, "SELECT COUNT(*) FROM "+table+" WHERE nid = ?", []any{s.nid}, func(r *sql.Rows) error { return r.Scan(&n) })
	return n, err
}

// Source rows, as Kratos stores them.

type srcIdentity struct {
	ID             uuid.UUID
	SchemaID       string
	Traits         []byte
	State          string
	StateChangedAt *time.Time
	MetadataPublic []byte
	MetadataAdmin  []byte
	CreatedAt      time.Time
	UpdatedAt      time.Time

	Credentials []*srcCredential
	Verifiable  []srcVerifiable
	Recovery    []srcRecovery
}

type srcCredential struct {
	ID          uuid.UUID
	Type        string
	Config      []byte
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Identifiers []string
}

type srcVerifiable struct {
	ID         uuid.UUID
	Via        string
	Value      string
	Verified   bool
	Status     string
	VerifiedAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

type srcRecovery struct {
	ID        uuid.UUID
	Via       string
	Value     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

type srcSession struct {
	ID              uuid.UUID
	IdentityID      uuid.UUID
	Token           string
	Active          bool
	AAL             string
	Methods         []byte
	IssuedAt        time.Time
	ExpiresAt       time.Time
	AuthenticatedAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

type srcMessage struct {
	ID           uuid.UUID
	Type         int
	Status       int
	Recipient    string
	Subject      string
	Body         string
	TemplateType string
	TemplateData []byte
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// page builds "… WHERE nid = ? [AND id > ?] ORDER BY id LIMIT n": keyset
// pagination, so each page costs the same however far the move has got.
func (s *source) page(base string, after uuid.UUID, limit int) (string, []any) {
	args := []any{s.nid}
	q := base + " WHERE nid = ?"
	if after != uuid.Nil {
		q += " AND id > ?"
		args = append(args, after.String())
	}
	return q + " ORDER BY id LIMIT " + strconv.Itoa(limit), args
}

// identities reads the next page of identities after the given id, with
// their credentials and addresses.
func (s *source) identities(ctx context.Context, after uuid.UUID, limit int) ([]*srcIdentity, error) {
	cols := "id, schema_id, traits, state, state_changed_at, created_at, updated_at"
	if s.hasMetadata {
		cols += ", metadata_public, metadata_admin"
	}
	q, args := s.page("SELECT "+cols+" FROM identities", after, limit)
	var out []*srcIdentity
	err := s.read(ctx, q, args, func(r *sql.Rows) error {
		var (
			id                 flexUUID
			schemaID, state    sql.NullString
			traits             []byte
			changed            flexTime
			created, updated   flexTime
			metaPub, metaAdmin []byte
		)
		dest := []any{&id, &schemaID, &traits, &state, &changed, &created, &updated}
		if s.hasMetadata {
			dest = append(dest, &metaPub, &metaAdmin)
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		out = append(out, &srcIdentity{
			ID: uuid.UUID(id), SchemaID: schemaID.String, Traits: traits, State: state.String,
			StateChangedAt: changed.ptr(), CreatedAt: created.t, UpdatedAt: updated.t,
			MetadataPublic: metaPub, MetadataAdmin: metaAdmin,
		})
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	byID := make(map[uuid.UUID]*srcIdentity, len(out))
	ids := make([]any, 0, len(out)+1)
	ids = append(ids, s.nid)
	for _, i := range out {
		byID[i.ID] = i
		ids = append(ids, i.ID.String())
	}
	in := placeholders(len(out))

	version := "0"
	if s.hasCredentialVersion {
		version = "c.version"
	}
	creds := map[uuid.UUID]*srcCredential{}
	err = s.read(ctx, `SELECT c.id, c.identity_id, t.name, c.config, `+version+`, c.created_at, c.updated_at
FROM identity_credentials c JOIN identity_credential_types t ON t.id = c.identity_credential_type_id
WHERE c.nid = ? AND c.identity_id IN (`+in+`)`, ids, func(r *sql.Rows) error {
		var (
			id, identityID   flexUUID
			name             string
			config           []byte
			version          sql.NullInt64
			created, updated flexTime
		)
		if err := r.Scan(&id, &identityID, &name, &config, &version, &created, &updated); err != nil {
			return err
		}
		c := &srcCredential{ID: uuid.UUID(id), Type: name, Config: config, Version: int(version.Int64), CreatedAt: created.t, UpdatedAt: updated.t}
		creds[c.ID] = c
		if i := byID[uuid.UUID(identityID)]; i != nil {
			i.Credentials = append(i.Credentials, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	err = s.read(ctx, `SELECT x.identity_credential_id, x.identifier
FROM identity_credential_identifiers x JOIN identity_credentials c ON c.id = x.identity_credential_id
WHERE c.nid = ? AND c.identity_id IN (`+in+`) ORDER BY x.identifier`, ids, func(r *sql.Rows) error {
		var credID flexUUID
		var identifier string
		if err := r.Scan(&credID, &identifier); err != nil {
			return err
		}
		if c := creds[uuid.UUID(credID)]; c != nil {
			c.Identifiers = append(c.Identifiers, identifier)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading credential identifiers: %w", err)
	}
	err = s.read(ctx, `SELECT id, identity_id, via, value, verified, status, verified_at, created_at, updated_at
FROM identity_verifiable_addresses WHERE nid = ? AND identity_id IN (`+in+`) ORDER BY created_at, id`, ids, func(r *sql.Rows) error {
		var (
			id, identityID             flexUUID
			via, value, status         sql.NullString
			verified                   flexBool
			verifiedAt, created, updtd flexTime
		)
		if err := r.Scan(&id, &identityID, &via, &value, &verified, &status, &verifiedAt, &created, &updtd); err != nil {
			return err
		}
		if i := byID[uuid.UUID(identityID)]; i != nil {
			i.Verifiable = append(i.Verifiable, srcVerifiable{
				ID: uuid.UUID(id), Via: via.String, Value: value.String, Verified: bool(verified), Status: status.String,
				VerifiedAt: verifiedAt.ptr(), CreatedAt: created.t, UpdatedAt: updtd.t,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading verifiable addresses: %w", err)
	}
	err = s.read(ctx, `SELECT id, identity_id, via, value, created_at, updated_at
FROM identity_recovery_addresses WHERE nid = ? AND identity_id IN (`+in+`) ORDER BY created_at, id`, ids, func(r *sql.Rows) error {
		var (
			id, identityID   flexUUID
			via, value       sql.NullString
			created, updated flexTime
		)
		if err := r.Scan(&id, &identityID, &via, &value, &created, &updated); err != nil {
			return err
		}
		if i := byID[uuid.UUID(identityID)]; i != nil {
			i.Recovery = append(i.Recovery, srcRecovery{ID: uuid.UUID(id), Via: via.String, Value: value.String, CreatedAt: created.t, UpdatedAt: updated.t})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading recovery addresses: %w", err)
	}
	return out, nil
}

// sessions reads the next page of sessions after the given id.
func (s *source) sessions(ctx context.Context, after uuid.UUID, limit int) ([]srcSession, error) {
	q, args := s.page(`SELECT id, identity_id, token, active, aal, authentication_methods, issued_at, expires_at, authenticated_at, created_at, updated_at FROM sessions`, after, limit)
	var out []srcSession
	err := s.read(ctx, q, args, func(r *sql.Rows) error {
		var (
			id, identityID                       flexUUID
			token, aal                           sql.NullString
			active                               flexBool
			methods                              []byte
			issued, expires, authd, created, upd flexTime
		)
		if err := r.Scan(&id, &identityID, &token, &active, &aal, &methods, &issued, &expires, &authd, &created, &upd); err != nil {
			return err
		}
		out = append(out, srcSession{
			ID: uuid.UUID(id), IdentityID: uuid.UUID(identityID), Token: token.String, Active: bool(active), AAL: aal.String,
			Methods: methods, IssuedAt: issued.t, ExpiresAt: expires.t, AuthenticatedAt: authd.t, CreatedAt: created.t, UpdatedAt: upd.t,
		})
		return nil
	})
	return out, err
}

// messages reads the next page of courier messages after the given id.
func (s *source) messages(ctx context.Context, after uuid.UUID, limit int) ([]srcMessage, error) {
	q, args := s.page(`SELECT id, type, status, recipient, subject, body, template_type, template_data, created_at, updated_at FROM courier_messages`, after, limit)
	var out []srcMessage
	err := s.read(ctx, q, args, func(r *sql.Rows) error {
		var (
			id                                     flexUUID
			typ, status                            sql.NullInt64
			recipient, subject, body, templateType sql.NullString
			data                                   []byte
			created, updated                       flexTime
		)
		if err := r.Scan(&id, &typ, &status, &recipient, &subject, &body, &templateType, &data, &created, &updated); err != nil {
			return err
		}
		out = append(out, srcMessage{
			ID: uuid.UUID(id), Type: int(typ.Int64), Status: int(status.Int64), Recipient: recipient.String, Subject: subject.String,
			Body: body.String, TemplateType: templateType.String, TemplateData: data, CreatedAt: created.t, UpdatedAt: updated.t,
		})
		return nil
	})
	return out, err
}

// Scanners that accept what each driver returns for the same column type.

// flexUUID reads a UUID stored as uuid, CHAR(36) or text.
type flexUUID uuid.UUID

func (u *flexUUID) Scan(v any) error {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		if len(x) == 16 {
			copy(u[:], x)
			return nil
		}
		s = string(x)
	case [16]byte:
		*u = flexUUID(x)
		return nil
	default:
		return fmt.Errorf("unexpected uuid value %T", v)
	}
	id, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	*u = flexUUID(id)
	return nil
}

// flexString reads text or a UUID as a string.
type flexString string

func (f *flexString) Scan(v any) error {
	switch x := v.(type) {
	case string:
		*f = flexString(x)
	case []byte:
		if len(x) == 16 {
			*f = flexString(uuid.UUID(x).String())
			return nil
		}
		*f = flexString(x)
	case [16]byte:
		*f = flexString(uuid.UUID(x).String())
	default:
		*f = flexString(fmt.Sprint(v))
	}
	return nil
}

// flexBool reads a boolean stored as bool, integer or text.
type flexBool bool

func (b *flexBool) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*b = false
	case bool:
		*b = flexBool(x)
	case int64:
		*b = x != 0
	case []byte:
		p, err := strconv.ParseBool(string(x))
		*b = flexBool(p)
		return err
	case string:
		p, err := strconv.ParseBool(x)
		*b = flexBool(p)
		return err
	default:
		return fmt.Errorf("unexpected boolean value %T", v)
	}
	return nil
}

// flexTime reads a timestamp that may be NULL, a time.Time or text (SQLite
// columns without a declared time type). Times are UTC, cut to the
// microseconds every database keeps.
type flexTime struct {
	t     time.Time
	valid bool
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05",
}

func (f *flexTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*f = flexTime{}
		return nil
	case time.Time:
		*f = flexTime{t: x.UTC().Truncate(time.Microsecond), valid: true}
		return nil
	case []byte:
		return f.parse(string(x))
	case string:
		return f.parse(x)
	}
	return fmt.Errorf("unexpected time value %T", v)
}

func (f *flexTime) parse(s string) error {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			*f = flexTime{t: t.UTC().Truncate(time.Microsecond), valid: true}
			return nil
		}
	}
	return fmt.Errorf("unparsable time %q", s)
}

func (f flexTime) ptr() *time.Time {
	if !f.valid {
		return nil
	}
	t := f.t
	return &t
}

// compactJSON returns raw compacted, or def when raw is empty or null.
func compactJSON(raw []byte, def string) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return json.RawMessage(def), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
