package identity

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestAppendAdminJSONMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)
	i := &Identity{
		ID: uuid.New(), SchemaID: "person", SchemaURL: "https://auth.example.org/schemas/cGVyc29u", State: StateActive,
		Traits:         json.RawMessage(`{"email":"x@example.org","tags":["a","\u00e9"]}`),
		MetadataPublic: json.RawMessage(`{"a":1}`), MetadataAdmin: json.RawMessage(`{"note":"vip \"gold\""}`),
		RecoveryAddresses: []RecoveryAddress{{ID: uuid.New(), Value: "x@example.org", Via: "email", CreatedAt: now, UpdatedAt: now}},
		CreatedAt:         now, UpdatedAt: now,
	}
	for name, tc := range map[string]struct {
		got  []byte
		want *Identity
	}{
		"admin":  {i.AppendAdminJSON(nil), i},
		"public": {i.AppendJSON(nil), i.Public()},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(tc.want); err != nil {
			t.Fatal(err)
		}
		if string(tc.got) != string(bytes.TrimSpace(want.Bytes())) {
			t.Errorf("%s: differs from encoding/json:\n got %s\nwant %s", name, tc.got, want.Bytes())
		}
	}
}
