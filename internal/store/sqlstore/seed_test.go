package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

func seedIdentity(email string, at time.Time) *identity.Identity {
	id := uuid.New()
	changed := at.Add(time.Minute)
	verified := at.Add(2 * time.Minute)
	return &identity.Identity{
		ID: id, SchemaID: "default", Traits: json.RawMessage(`{"email":"` + email + `"}`), State: identity.StateActive,
		StateChangedAt: &changed, AvailableAAL: identity.AAL1,
		MetadataPublic: json.RawMessage(`{"plan":"gold"}`), CreatedAt: at, UpdatedAt: at.Add(time.Second),
		Credentials: map[identity.CredentialsType]identity.Credentials{
			identity.CredentialsPassword: {Type: identity.CredentialsPassword, Identifiers: []string{email},
				Config: json.RawMessage(`{"hashed_password":"$2a$04$x"}`), Version: 1, CreatedAt: at, UpdatedAt: at},
		},
		VerifiableAddresses: []identity.VerifiableAddress{{ID: uuid.New(), Via: "email", Value: email, Verified: true,
			Status: identity.AddressStatusCompleted, VerifiedAt: &verified, CreatedAt: at, UpdatedAt: at}},
		RecoveryAddresses: []identity.RecoveryAddress{{ID: uuid.New(), Via: "email", Value: email, CreatedAt: at, UpdatedAt: at}},
	}
}

// TestSeederWritesWhatCreateWrites: the bulk path (COPY on PostgreSQL,
// multi-row INSERTs elsewhere) stores the same values as the one-row path,
// a conflicting batch writes nothing, and the seeder goes on working after
// it.
func TestSeederWritesWhatCreateWrites(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := migrated(t, b.NewDSN(t))
		at := t0

		created, seeded := seedIdentity("created@example.org", at), seedIdentity("seeded@example.org", at)
		if err := st.CreateIdentity(ctx, created); err != nil {
			t.Fatal(err)
		}
		sd, err := st.NewSeeder(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		defer sd.Close()
		if err := sd.Identities(ctx, []*identity.Identity{seeded}); err != nil {
			t.Fatal(err)
		}
		// The same identity, apart from what names it, must read back the
		// same whichever way it was written.
		normalize := func(i *identity.Identity) string {
			i.ID = uuid.Nil
			i.Traits = nil
			for k := range i.VerifiableAddresses {
				i.VerifiableAddresses[k].ID, i.VerifiableAddresses[k].IdentityID, i.VerifiableAddresses[k].Value = uuid.Nil, uuid.Nil, ""
			}
			for k := range i.RecoveryAddresses {
				i.RecoveryAddresses[k].ID, i.RecoveryAddresses[k].IdentityID, i.RecoveryAddresses[k].Value = uuid.Nil, uuid.Nil, ""
			}
			for t, c := range i.Credentials {
				c.ID, c.Identifiers = uuid.Nil, nil
				i.Credentials[t] = c
			}
			raw, _ := json.Marshal(i)
			return string(raw)
		}
		gotCreated, err := st.GetIdentity(ctx, created.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		gotSeeded, err := st.GetIdentity(ctx, seeded.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if string(gotSeeded.Traits) != string(seeded.Traits) || gotSeeded.AvailableAAL != seeded.AvailableAAL {
			t.Errorf("seeded traits %s aal %q", gotSeeded.Traits, gotSeeded.AvailableAAL)
		}
		if _, c, err := st.FindByCredentialsIdentifier(ctx, identity.CredentialsPassword, "seeded@example.org"); err != nil || c.ID != seeded.Credentials[identity.CredentialsPassword].ID {
			t.Errorf("seeded identifier: %v %+v", err, c)
		}
		if a, b := normalize(gotCreated), normalize(gotSeeded); a != b {
			t.Errorf("created and seeded identities differ:\n created %s\n  seeded %s", a, b)
		}

		sess := func(i *identity.Identity, hash string) *session.Session {
			return &session.Session{ID: uuid.New(), IdentityID: i.ID, TokenHash: hash, Active: true, AAL: identity.AAL1,
				AuthenticationMethods: []session.AuthenticationMethod{{Method: "password", AAL: identity.AAL1, CompletedAt: at}},
				IssuedAt:              at, ExpiresAt: at.Add(time.Hour), AuthenticatedAt: at, CreatedAt: at, UpdatedAt: at}
		}
		sc, ss := sess(created, "hash-created"), sess(seeded, "hash-seeded")
		if err := st.CreateSession(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if err := sd.Sessions(ctx, []*session.Session{ss}); err != nil {
			t.Fatal(err)
		}
		normalizeSession := func(hash string) string {
			s, err := st.SessionByTokenHash(ctx, hash)
			if err != nil {
				t.Fatal(err)
			}
			s.ID, s.IdentityID, s.TokenHash, s.Identity = uuid.Nil, uuid.Nil, "", nil
			raw, _ := json.Marshal(s)
			return string(raw)
		}
		if a, b := normalizeSession("hash-created"), normalizeSession("hash-seeded"); a != b {
			t.Errorf("created and seeded sessions differ:\n created %s\n  seeded %s", a, b)
		}

		// A batch with one identifier already taken fails whole.
		fresh, taken := seedIdentity("fresh@example.org", at), seedIdentity("other@example.org", at)
		taken.Credentials[identity.CredentialsPassword] = identity.Credentials{Type: identity.CredentialsPassword,
			Identifiers: []string{"seeded@example.org"}, Config: json.RawMessage(`{}`), CreatedAt: at, UpdatedAt: at}
		if err := sd.Identities(ctx, []*identity.Identity{fresh, taken}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("conflicting batch: %v, want a conflict", err)
		}
		if _, err := st.GetIdentity(ctx, fresh.ID, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an identity of the failed batch was written: %v", err)
		}
		if err := sd.Identities(ctx, []*identity.Identity{fresh}); err != nil {
			t.Fatalf("after a failed batch: %v", err)
		}
		if _, err := st.GetIdentity(ctx, fresh.ID, false); err != nil {
			t.Fatal(err)
		}
	})
}
