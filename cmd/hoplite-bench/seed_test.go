package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
)

// seedDatabases lists SQLite and, when the test suites' variables name
// servers, scratch PostgreSQL and MySQL databases.
func seedDatabases(t *testing.T) map[string]string {
	out := map[string]string{"sqlite": "sqlite://" + filepath.Join(t.TempDir(), "seed.sqlite") + "?_fk=true"}
	for db, env := range map[string]string{"postgres": "HOPLITE_TEST_POSTGRES_DSN", "mysql": "HOPLITE_TEST_MYSQL_DSN"} {
		server := os.Getenv(env)
		if server == "" {
			continue
		}
		dsn, drop, err := scratchDB(context.Background(), db, server)
		if err != nil {
			t.Fatalf("%s: %v", db, err)
		}
		t.Cleanup(func() {
			if err := drop(); err != nil {
				t.Errorf("dropping the %s scratch database: %v", db, err)
			}
		})
		out[db] = dsn
	}
	return out
}

// TestSeedAsTheServerWrites seeds a small database and reads it back
// through the store the server uses: identities as the admin API shows
// them, logins by identifier, and sessions by the keyed hash of their
// token, exactly as whoami looks them up.
func TestSeedAsTheServerWrites(t *testing.T) {
	for db, dsn := range seedDatabases(t) {
		t.Run(db, func(t *testing.T) {
			ctx := context.Background()
			o := &options{db: db, hasher: "bcrypt", bcryptCost: 12}
			cfg, err := loadConfig(serverConfig(o, dsn, 4433, 4434))
			if err != nil {
				t.Fatal(err)
			}
			st, err := sqlstore.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			// A fast hasher: the test is about rows, not hashing.
			const n, m = 120, 250
			data, err := seed(ctx, cfg, hash.NewBcrypt(hash.BcryptConfig{Cost: 4}), n, m, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(data.identityIDs) != n || len(data.emails) != n || len(data.tokens) != m {
				t.Fatalf("seeded %d/%d/%d", len(data.identityIDs), len(data.emails), len(data.tokens))
			}
			list, total, err := st.ListIdentities(ctx, 0, 1000)
			if err != nil || total != n || len(list) != n {
				t.Fatalf("list: %d of %d, %v", len(list), total, err)
			}

			k := 77
			i, err := st.GetIdentity(ctx, data.identityIDs[k], true)
			if err != nil {
				t.Fatal(err)
			}
			email := seedEmail(k)
			if string(i.Traits) != `{"email":"`+email+`"}` || i.SchemaID != "default" || i.State != identity.StateActive || i.AvailableAAL != identity.AAL1 {
				t.Errorf("identity %+v", i)
			}
			if len(i.VerifiableAddresses) != 1 || i.VerifiableAddresses[0].Value != email || i.VerifiableAddresses[0].Via != "email" ||
				i.VerifiableAddresses[0].Status != identity.AddressStatusPending || i.VerifiableAddresses[0].Verified {
				t.Errorf("verifiable addresses %+v", i.VerifiableAddresses)
			}
			if len(i.RecoveryAddresses) != 1 || i.RecoveryAddresses[0].Value != email || i.RecoveryAddresses[0].Via != "email" {
				t.Errorf("recovery addresses %+v", i.RecoveryAddresses)
			}
			pw, ok := i.Credentials[identity.CredentialsPassword]
			var pc identity.PasswordConfig
			if !ok || json.Unmarshal(pw.Config, &pc) != nil || len(pw.Identifiers) != 1 || pw.Identifiers[0] != email {
				t.Fatalf("password credentials %+v", pw)
			}
			if err := hash.Compare(ctx, []byte(benchPassword), []byte(pc.HashedPassword)); err != nil {
				t.Errorf("stored hash: %v", err)
			}
			if got, c, err := st.FindByCredentialsIdentifier(ctx, identity.CredentialsPassword, email); err != nil || got.ID != i.ID || c.Type != identity.CredentialsPassword {
				t.Errorf("login lookup: %v", err)
			}

			hasher := secret.NewTokenHasher("session-token", cfg.Secrets.Default)
			for _, k := range []int{0, n + 3, m - 1} {
				s, err := st.SessionByTokenHash(ctx, hasher.Hash(data.tokens[k]))
				if err != nil {
					t.Fatalf("session %d: %v", k, err)
				}
				if s.IdentityID != data.identityIDs[k%n] || !s.Active || s.AAL != identity.AAL1 || len(s.AuthenticationMethods) != 1 ||
					s.AuthenticationMethods[0].Method != "password" || s.Identity == nil || len(s.Identity.VerifiableAddresses) != 1 {
					t.Errorf("session %d: %+v", k, s)
				}
				if s.ExpiresAt.Sub(s.IssuedAt) != cfg.Session.Lifespan {
					t.Errorf("session %d lifespan %s", k, s.ExpiresAt.Sub(s.IssuedAt))
				}
			}
			// Seeding again collides with what is there.
			if _, err := seed(ctx, cfg, hash.NewBcrypt(hash.BcryptConfig{Cost: 4}), 3, 1, io.Discard); err == nil {
				t.Error("seeding the same addresses twice succeeded")
			}
		})
	}
}

// TestMigrateAndServeConfig checks the generated configuration against the
// real binary's loader via the migrate command (no server start).
func TestMigrateAndServeConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/hoplite")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	ctx := context.Background()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := buildHoplite(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"bcrypt", "argon2"} {
		o := &options{db: "sqlite", hasher: h, bcryptCost: 12}
		dsn := "sqlite://" + filepath.Join(dir, h+".sqlite") + "?_fk=true"
		path := filepath.Join(dir, h+".yml")
		if err := os.WriteFile(path, serverConfig(o, dsn, 4433, 4434), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, bin, path); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(serverConfig(o, dsn, 4433, 4434))
		if err != nil {
			t.Fatal(err)
		}
		hs, err := hasherOf(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if h == "argon2" {
			a, ok := hs.(*hash.Argon2)
			if !ok || a.Config() != hash.DefaultArgon2Config() {
				t.Errorf("argon2 settings %+v, want Hoplite's defaults %+v", a.Config(), hash.DefaultArgon2Config())
			}
		} else if !bytes.Contains(serverConfig(o, dsn, 1, 2), []byte("cost: "+strconv.Itoa(12))) {
			t.Error("bcrypt cost not in the configuration")
		}
	}
}
