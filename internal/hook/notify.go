package hook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/identity"
)

// Mailer queues emails (courier.Courier).
type Mailer interface {
	QueueEmail(ctx context.Context, t courier.TemplateType, data courier.EmailData) (uuid.UUID, error)
}

// Notifier mails an identity's owner when its password was changed or it
// was recovered (security.credential_changes.notify). It implements
// flow.Notifier.
type Notifier struct {
	mailer Mailer
}

var _ flow.Notifier = (*Notifier)(nil)

// NewNotifier returns a Notifier queueing its mails with m.
func NewNotifier(m Mailer) *Notifier { return &Notifier{mailer: m} }

const viaEmail = "email"

// notices maps each change to its email template.
var notices = map[flow.CredentialChange]courier.TemplateType{
	flow.SecretReplaced:   courier.CredentialsChanged,
	flow.AccountRecovered: courier.RecoveryCompleted,
}

// NotifyCredentialChange queues one mail per recipient (NoticeRecipients).
// The mail names no secret: its template sees the address and the identity
// as the public API shows it.
func (n *Notifier) NotifyCredentialChange(ctx context.Context, i *identity.Identity, change flow.CredentialChange) error {
	t, ok := notices[change]
	if !ok {
		return fmt.Errorf("hook: no notice for the change %q", change)
	}
	var model map[string]any
	raw, err := json.Marshal(i.Public())
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &model); err != nil {
		return err
	}
	for _, to := range NoticeRecipients(i) {
		if _, err := n.mailer.QueueEmail(ctx, t, courier.EmailData{To: to, Identity: model}); err != nil {
			return err
		}
	}
	return nil
}

// NoticeRecipients are the addresses a notice goes to: the identity's
// verified email addresses or, when none is verified, every email address
// it has (verifiable and recovery), each once.
func NoticeRecipients(i *identity.Identity) []string {
	var verified, all []string
	seen := map[string]bool{}
	add := func(list *[]string, value string) {
		key := strings.ToLower(value)
		if value == "" || seen[key] {
			return
		}
		seen[key] = true
		*list = append(*list, value)
	}
	for _, a := range i.VerifiableAddresses {
		if a.Via == viaEmail && a.Verified {
			add(&verified, a.Value)
		}
	}
	if len(verified) > 0 {
		return verified
	}
	clear(seen)
	for _, a := range i.VerifiableAddresses {
		if a.Via == viaEmail {
			add(&all, a.Value)
		}
	}
	for _, a := range i.RecoveryAddresses {
		if a.Via == viaEmail {
			add(&all, a.Value)
		}
	}
	return all
}
