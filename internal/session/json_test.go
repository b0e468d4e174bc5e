package session

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 11, 25, 21, 0, 3, 123456000, time.UTC)
	changed := now.Add(-time.Hour)
	verified := now.Add(-2 * time.Minute)
	cases := map[string]*Session{
		"full": {
			ID: uuid.New(), Active: true, ExpiresAt: now.Add(24 * time.Hour), AuthenticatedAt: now, IssuedAt: now,
			AAL:                   "aal1",
			AuthenticationMethods: []AuthenticationMethod{{Method: "password", AAL: "aal1", CompletedAt: now}, {Method: "totp", AAL: "aal2", CompletedAt: now.Add(time.Second)}},
			Identity: &identity.Identity{
				ID: uuid.New(), SchemaID: "default", SchemaURL: "http://127.0.0.1:4433/schemas/ZGVmYXVsdA", State: identity.StateActive,
				StateChangedAt: &changed,
				Traits:         json.RawMessage(`{"email":"a\"b<c>&\u2028@example.com","name":{"first":"Zoë","last":"\u0001"}}`),
				VerifiableAddresses: []identity.VerifiableAddress{
					{ID: uuid.New(), Value: "a@example.com", Verified: true, Via: "email", Status: "completed", VerifiedAt: &verified, CreatedAt: now, UpdatedAt: now},
					{ID: uuid.New(), Value: "b@example.com", Via: "email", Status: "pending", CreatedAt: now, UpdatedAt: now},
				},
				RecoveryAddresses: []identity.RecoveryAddress{{ID: uuid.New(), Value: "a@example.com", Via: "email", CreatedAt: now, UpdatedAt: now}},
				MetadataPublic:    json.RawMessage(`{"plan": "pro"}`),
				CreatedAt:         now, UpdatedAt: now,
			},
		},
		"minimal": {
			ID: uuid.New(), ExpiresAt: now, AuthenticatedAt: now, IssuedAt: now, AAL: "aal0",
			Identity: &identity.Identity{ID: uuid.New(), SchemaID: "x\x00y\xff", State: identity.StateInactive, Traits: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now},
		},
		"no identity": {ID: uuid.New(), AuthenticationMethods: []AuthenticationMethod{}},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			got := s.AppendJSON(nil)
			if string(got) != string(bytes.TrimSpace(want.Bytes())) {
				t.Fatalf("AppendJSON differs from encoding/json:\n got %s\nwant %s", got, want.Bytes())
			}
		})
	}
}

func BenchmarkSessionJSON(b *testing.B) {
	now := time.Now().UTC()
	s := &Session{
		ID: uuid.New(), Active: true, ExpiresAt: now, AuthenticatedAt: now, IssuedAt: now, AAL: "aal1",
		AuthenticationMethods: []AuthenticationMethod{{Method: "password", AAL: "aal1", CompletedAt: now}},
		Identity: &identity.Identity{
			ID: uuid.New(), SchemaID: "default", SchemaURL: "http://127.0.0.1:4433/schemas/ZGVmYXVsdA", State: identity.StateActive,
			Traits:              json.RawMessage(`{"email":"user@example.com"}`),
			VerifiableAddresses: []identity.VerifiableAddress{{ID: uuid.New(), Value: "user@example.com", Via: "email", Status: "sent", CreatedAt: now, UpdatedAt: now}},
			RecoveryAddresses:   []identity.RecoveryAddress{{ID: uuid.New(), Value: "user@example.com", Via: "email", CreatedAt: now, UpdatedAt: now}},
			CreatedAt:           now, UpdatedAt: now,
		},
	}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2048)
		for b.Loop() {
			buf = s.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
