package kratosimport_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/securecookie"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// kratosDB is a Kratos v0.9 database built by the tests from
// testdata/kratos_v0.9_<dialect>.sql, filled the way Kratos fills it.
type kratosDB struct {
	t       testing.TB
	dsn     string
	db      *sql.DB
	dialect sqlstore.Dialect
	nid     uuid.UUID
	types   map[string]uuid.UUID
}

func newKratosDB(t testing.TB, b testutil.Backend) *kratosDB {
	t.Helper()
	dsn := b.NewDSN(t)
	p, err := sqlstore.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open(p.DriverName, p.DriverDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if p.Dialect == sqlstore.SQLite {
		db.SetMaxOpenConns(1)
	}
	k := &kratosDB{t: t, dsn: dsn, db: db, dialect: p.Dialect, nid: uuid.New(), types: map[string]uuid.UUID{}}
	ddl, err := os.ReadFile("testdata/kratos_v0.9_" + string(p.Dialect) + ".sql")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(ddl), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		if strings.TrimSpace(stmt) != "" {
			k.exec(stmt)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	k.exec("INSERT INTO schema_migration (version) VALUES (?)", "20220301102702000000")
	k.exec("INSERT INTO networks (id, created_at, updated_at) VALUES (?, ?, ?)", k.nid.String(), now, now)
	for _, name := range []string{"password", "oidc", "totp", "lookup_secret", "webauthn"} {
		id := uuid.New()
		k.types[name] = id
		k.exec("INSERT INTO identity_credential_types (id, name) VALUES (?, ?)", id.String(), name)
	}
	return k
}

func (k *kratosDB) exec(q string, args ...any) {
	k.t.Helper()
	if k.dialect == sqlstore.Postgres {
		n := 0
		var b strings.Builder
		for _, r := range q {
			if r == '?' {
				n++
				fmt.Fprintf(&b, "$%d", n)
				continue
			}
			b.WriteRune(r)
		}
		q = b.String()
	}
	if _, err := k.db.ExecContext(context.Background(), q, args...); err != nil {
		k.t.Fatalf("kratos fixture: %v\n%s", err, q)
	}
}

// Fixture rows.

type kratosCredential struct {
	Type        string
	Identifiers []string
	Config      string
	Version     int
}

type kratosSession struct {
	ID      uuid.UUID
	Token   string
	Active  bool
	AAL     string
	Methods string
	Issued  time.Time
	Expires time.Time
}

type kratosUser struct {
	ID             uuid.UUID
	SchemaID       string
	Traits         string
	State          string
	StateChangedAt *time.Time
	Email          string
	Password       string // "" when the user has no password
	Verified       bool
	VerifiedAt     *time.Time
	Created        time.Time
	Credentials    []kratosCredential
	Sessions       []kratosSession
	VerifiableID   uuid.UUID
	RecoveryID     uuid.UUID
}

func (k *kratosDB) add(u *kratosUser) {
	k.t.Helper()
	nid := k.nid.String()
	if u.ID == uuid.Nil {
		u.ID = uuid.New()
	}
	if u.SchemaID == "" {
		u.SchemaID = "default"
	}
	if u.State == "" {
		u.State = "active"
	}
	if u.Traits == "" {
		u.Traits = fmt.Sprintf(`{"email":%q}`, u.Email)
	}
	if u.Created.IsZero() {
		u.Created = time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	}
	c := u.Created
	var changed any
	if u.StateChangedAt != nil {
		changed = *u.StateChangedAt
	}
	k.exec("INSERT INTO identities (id, nid, schema_id, traits, state, state_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID.String(), nid, u.SchemaID, u.Traits, u.State, changed, c, c.Add(time.Hour))
	for _, cr := range u.Credentials {
		cid := uuid.New()
		k.exec("INSERT INTO identity_credentials (id, config, identity_credential_type_id, identity_id, nid, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			cid.String(), cr.Config, k.types[cr.Type].String(), u.ID.String(), nid, cr.Version, c, c)
		for _, ident := range cr.Identifiers {
			k.exec("INSERT INTO identity_credential_identifiers (id, identifier, identity_credential_id, nid, identity_credential_type_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
				uuid.NewString(), ident, cid.String(), nid, k.types[cr.Type].String(), c, c)
		}
	}
	if u.Email != "" && !strings.Contains(u.Traits, "not-an-email") {
		u.VerifiableID, u.RecoveryID = uuid.New(), uuid.New()
		status := "sent"
		var verifiedAt any
		if u.Verified {
			status = "completed"
			verifiedAt = *u.VerifiedAt
		}
		k.exec("INSERT INTO identity_verifiable_addresses (id, status, via, verified, value, verified_at, identity_id, nid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			u.VerifiableID.String(), status, "email", u.Verified, u.Email, verifiedAt, u.ID.String(), nid, c, c)
		k.exec("INSERT INTO identity_recovery_addresses (id, via, value, identity_id, nid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			u.RecoveryID.String(), "email", u.Email, u.ID.String(), nid, c, c)
	}
	for k2 := range u.Sessions {
		s := &u.Sessions[k2]
		if s.ID == uuid.Nil {
			s.ID = uuid.New()
		}
		if s.Token == "" {
			s.Token = secret.RandomToken(32)
		}
		if s.AAL == "" {
			s.AAL = "aal1"
		}
		if s.Issued.IsZero() {
			s.Issued = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		}
		if s.Expires.IsZero() {
			s.Expires = s.Issued.Add(24 * time.Hour)
		}
		if s.Methods == "" {
			s.Methods = fmt.Sprintf(`[{"method":"password","aal":"aal1","completed_at":%q}]`, s.Issued.Format(time.RFC3339Nano))
		}
		k.exec("INSERT INTO sessions (id, issued_at, expires_at, authenticated_at, identity_id, token, active, nid, logout_token, aal, authentication_methods, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			s.ID.String(), s.Issued, s.Expires, s.Issued, u.ID.String(), s.Token, s.Active, nid, secret.RandomToken(32), s.AAL, s.Methods, s.Issued, s.Issued)
	}
}

func (k *kratosDB) addMessage(status int, recipient string) uuid.UUID {
	id := uuid.New()
	now := time.Now().UTC().Truncate(time.Second)
	k.exec("INSERT INTO courier_messages (id, type, status, body, subject, recipient, template_type, template_data, nid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		id.String(), 1, status, "Hi, please verify your account", "Please verify your email address", recipient, "verification_valid",
		[]byte(`{"To":"`+recipient+`","VerificationURL":"http://127.0.0.1/verify"}`), k.nid.String(), now, now)
	return id
}

// Password hashes in the formats Kratos writes (bcrypt, argon2id) and
// imports (pbkdf2).

func bcryptHash(t testing.TB, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func argon2Hash(pw string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func pbkdf2Hash(t testing.TB, pw string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, pw, salt, 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("$pbkdf2-sha256$i=1000,l=32$%s$%s", base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func passwordCredential(email, hash string) kratosCredential {
	return kratosCredential{Type: "password", Identifiers: []string{email}, Config: fmt.Sprintf(`{"hashed_password":%q}`, hash)}
}

// kratosCookie encodes a session cookie as Kratos' cookie store does: the
// gob of {"session_token", "expires_at", "nonce"} (all strings), signed (and, with a second secret,
// encrypted) by securecookie under the cookie name.
func kratosCookie(t testing.TB, name, token string, secrets ...string) string {
	keys := make([][]byte, len(secrets))
	for k, s := range secrets {
		keys[k] = []byte(s)
	}
	values := map[any]any{
		"session_token": token,
		"expires_at":    time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano),
		"nonce":         "aBcDeFgH",
	}
	v, err := securecookie.EncodeMulti(name, values, securecookie.CodecsFromPairs(keys...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
