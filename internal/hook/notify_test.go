package hook

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/identity"
)

type queued struct {
	t    courier.TemplateType
	data courier.EmailData
}

type fakeMailer struct{ out []queued }

func (m *fakeMailer) QueueEmail(_ context.Context, t courier.TemplateType, d courier.EmailData) (uuid.UUID, error) {
	m.out = append(m.out, queued{t, d})
	return uuid.New(), nil
}

func TestNoticeRecipients(t *testing.T) {
	i := &identity.Identity{
		VerifiableAddresses: []identity.VerifiableAddress{
			{Value: "a@example.org", Via: "email"},
			{Value: "b@example.org", Via: "email", Verified: true},
			{Value: "+15550100", Via: "sms", Verified: true},
		},
		RecoveryAddresses: []identity.RecoveryAddress{{Value: "c@example.org", Via: "email"}},
	}
	if got := NoticeRecipients(i); !slices.Equal(got, []string{"b@example.org"}) {
		t.Errorf("with a verified address: %v, want only it", got)
	}
	i.VerifiableAddresses[1].Verified = false
	i.RecoveryAddresses = append(i.RecoveryAddresses, identity.RecoveryAddress{Value: "A@example.org", Via: "email"})
	if got := NoticeRecipients(i); !slices.Equal(got, []string{"a@example.org", "b@example.org", "c@example.org"}) {
		t.Errorf("without a verified address: %v, want every email address once", got)
	}
}

func TestNotifierQueuesOneMailPerAddressWithoutSecrets(t *testing.T) {
	m := &fakeMailer{}
	i := &identity.Identity{
		ID:     uuid.New(),
		Traits: json.RawMessage(`{"email":"a@example.org"}`),
		Credentials: map[identity.CredentialsType]identity.Credentials{
			identity.CredentialsPassword: {Type: identity.CredentialsPassword, Config: json.RawMessage(`{"hashed_password":"$2a$secret"}`)},
		},
		VerifiableAddresses: []identity.VerifiableAddress{{Value: "a@example.org", Via: "email"}},
	}
	n := NewNotifier(m)
	if err := n.NotifyCredentialChange(context.Background(), i, flow.SecretReplaced); err != nil {
		t.Fatal(err)
	}
	if err := n.NotifyCredentialChange(context.Background(), i, flow.AccountRecovered); err != nil {
		t.Fatal(err)
	}
	if len(m.out) != 2 || m.out[0].t != courier.CredentialsChanged || m.out[1].t != courier.RecoveryCompleted {
		t.Fatalf("queued %+v", m.out)
	}
	d := m.out[0].data
	raw, _ := json.Marshal(d)
	if d.To != "a@example.org" || d.Identity["id"] != i.ID.String() || strings.Contains(string(raw), "hashed_password") || strings.Contains(string(raw), "credentials") {
		t.Errorf("mail data %s", raw)
	}
	if err := n.NotifyCredentialChange(context.Background(), i, flow.CredentialChange("other")); err == nil {
		t.Error("an unknown change was accepted")
	}
}
