// Package courier is Hoplite's outgoing mail: a queue of messages in the
// database (table courier_messages), the templates that render them, and a
// worker that claims queued messages and hands them to a Sender (SMTP, or
// the log in development mode).
//
// Messages are queued by the self-service flows through QueueEmail, which
// renders the subject and the plaintext body at once and keeps the template
// data, so the HTML body can be rendered again when the message is sent.
// Any number of workers may run against one database: claims are atomic and
// leased, so a message is sent by one worker only, and a message claimed by
// a worker that died is claimed again once the lease has run out.
package courier

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/hoplite-id/hoplite/internal/cipher"

	"github.com/google/uuid"
)

// TemplateType names an email template; the values are stored in
// courier_messages.template_type and match Kratos'.
type TemplateType string

// The email templates.
const (
	RecoveryValid       TemplateType = "recovery_valid"
	RecoveryInvalid     TemplateType = "recovery_invalid"
	VerificationValid   TemplateType = "verification_valid"
	VerificationInvalid TemplateType = "verification_invalid"
	// CredentialsChanged and RecoveryCompleted tell an account's owner that
	// its password was changed or that it was recovered
	// (security.credential_changes.notify, a Hoplite addition).
	CredentialsChanged TemplateType = "credentials_changed"
	RecoveryCompleted  TemplateType = "recovery_completed"
)

// LinkTemplates are the templates whose messages carry a single-use link
// (a recovery or verification token). The store drops their body and
// template data once they are sent or abandoned, so that a copy of the
// database does not hold usable links.
var LinkTemplates = []TemplateType{RecoveryValid, VerificationValid}

// TemplateTypes lists every email template.
var TemplateTypes = []TemplateType{RecoveryValid, RecoveryInvalid, VerificationValid, VerificationInvalid, CredentialsChanged, RecoveryCompleted}

// dir is the template's directory below the template root, e.g.
// "recovery/valid".
func (t TemplateType) dir() string {
	kind, variant, _ := strings.Cut(string(t), "_")
	return kind + "/" + variant
}

func (t TemplateType) valid() bool {
	for _, k := range TemplateTypes {
		if k == t {
			return true
		}
	}
	return false
}

// EmailData is the model the templates see. The field names are the
// template variables Kratos documents: .To, .RecoveryURL, .VerificationURL
// and .Identity (the identity as the public API shows it, decoded JSON).
type EmailData struct {
	To              string         `json:"To"`
	RecoveryURL     string         `json:"RecoveryURL,omitempty"`
	VerificationURL string         `json:"VerificationURL,omitempty"`
	Identity        map[string]any `json:"Identity,omitempty"`
}

// model is what is stored in template_data: only the variables the
// template type has, under Kratos' names.
func (d EmailData) model(t TemplateType) EmailData {
	out := EmailData{To: d.To}
	switch t {
	case RecoveryValid:
		out.RecoveryURL, out.Identity = d.RecoveryURL, d.Identity
	case VerificationValid:
		out.VerificationURL, out.Identity = d.VerificationURL, d.Identity
	case CredentialsChanged, RecoveryCompleted:
		out.Identity = d.Identity
	}
	return out
}

// MessageType is courier_messages.type.
type MessageType int

// MessageTypeEmail is the only message type Hoplite queues.
const MessageTypeEmail MessageType = 1

// Status is courier_messages.status.
type Status int

// Message states, with Kratos' numbers.
const (
	StatusQueued     Status = 1
	StatusSent       Status = 2
	StatusProcessing Status = 3
	StatusAbandoned  Status = 4
)

func (s Status) String() string {
	switch s {
	case StatusQueued:
		return "queued"
	case StatusSent:
		return "sent"
	case StatusProcessing:
		return "processing"
	case StatusAbandoned:
		return "abandoned"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Message is one row of courier_messages.
type Message struct {
	ID           uuid.UUID
	Type         MessageType
	Status       Status
	Recipient    string
	Subject      string
	Body         string // the plaintext body
	TemplateType TemplateType
	TemplateData []byte // JSON of the template model
	// SendCount counts delivery attempts, failed or not.
	SendCount int
	LastError string
	// ClaimedUntil is the end of a worker's lease while processing, and the
	// earliest time of the next attempt while queued after a failure.
	ClaimedUntil *time.Time
	// ClaimToken identifies the claim of the worker processing the message.
	ClaimToken string
	CreatedAt  time.Time
	UpdatedAt  time.Time

	// HTMLBody is rendered from the template when the message is sent; it
	// is not stored.
	HTMLBody string
}

// Store keeps the queue. Times are passed in by the courier (UTC, truncated
// to microseconds); token is the claim token of one claiming round.
// Operations on a claimed message return store.ErrNotFound when the message
// is not (or no longer) claimed with that token.
type Store interface {
	CreateMessage(ctx context.Context, m *Message) error
	// ClaimMessages atomically claims up to limit messages, oldest first,
	// that are queued (and not waiting for a retry after now) or that are
	// processing under a lease that ran out by now. Claimed messages are
	// processing, with token and the lease until.
	ClaimMessages(ctx context.Context, token string, now, until time.Time, limit int) ([]Message, error)
	// RenewClaim extends the lease of a message still claimed with token.
	RenewClaim(ctx context.Context, id uuid.UUID, token string, now, until time.Time) error
	// MarkSent records a successful delivery (send_count + 1).
	MarkSent(ctx context.Context, id uuid.UUID, token string, now time.Time) error
	// Release puts a message whose delivery failed back in the queue with
	// send_count + 1, the error, and the earliest time of the next attempt.
	Release(ctx context.Context, id uuid.UUID, token, errText string, now, retryAt time.Time) error
	// Unclaim puts a claimed message that was not attempted back in the
	// queue unchanged.
	Unclaim(ctx context.Context, id uuid.UUID, token string, now time.Time) error
	// AbandonMessages marks queued messages created before cutoff, and
	// processing ones created before cutoff whose lease ran out by now, as
	// abandoned, and reports how many.
	AbandonMessages(ctx context.Context, cutoff, now time.Time) (int64, error)
	// ListMessages lists messages oldest first; status 0 means any status
	// and limit 0 no limit.
	ListMessages(ctx context.Context, status Status, limit int) ([]Message, error)
}

// Sender delivers one message. An error wrapping ErrServerUnavailable says
// that no message can be delivered right now (connection, TLS or
// authentication failure), so the rest of a batch is not attempted.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrServerUnavailable marks delivery errors that are not about one message.
var ErrServerUnavailable = errors.New("mail server unavailable")

// ErrNoSender is returned by Run without a sender: FromConfig returns none
// when courier.smtp.connection_uri is not set outside development mode.
var ErrNoSender = errors.New("courier: no mail server is configured (set courier.smtp.connection_uri)")

// Defaults of the worker's tuning fields.
const (
	DefaultPollInterval  = time.Second
	DefaultLease         = time.Minute
	DefaultBatchSize     = 10
	DefaultRetryDelay    = time.Second
	DefaultMaxRetryDelay = time.Minute
	DefaultMaxBackoff    = time.Minute
	DefaultMessageTTL    = time.Hour
)

// Courier queues messages and runs the delivery worker.
type Courier struct {
	store     Store
	templates *Templates
	ttl       time.Duration
	logger    *slog.Logger
	sealer    cipher.Cipher // nil: link messages are stored as they are (see SealLinks)

	// Tuning of the worker; set before Run. Zero values take the defaults.

	// PollInterval is the pause between rounds when the queue is drained.
	PollInterval time.Duration
	// Lease is how long a claim lasts. Each message's lease is renewed just
	// before it is sent, so it must exceed the time one delivery can take
	// (the SMTP sender gives up after 10 s).
	Lease time.Duration
	// BatchSize is how many messages one round claims.
	BatchSize int
	// RetryDelay is the wait before the first retry of a failed message; it
	// doubles with each failed attempt up to MaxRetryDelay. Negative means
	// retry on the next round.
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// MaxBackoff caps the exponential backoff after store errors.
	MaxBackoff time.Duration
	// Now is the clock (tests); nil means the system clock.
	Now func() time.Time
}

// New returns a courier over st rendering with tmpl (nil: the built-in
// templates). Messages not sent within ttl (0: one hour) are abandoned.
func New(st Store, tmpl *Templates, ttl time.Duration, logger *slog.Logger) *Courier {
	if tmpl == nil {
		tmpl = BuiltinTemplates()
	}
	if ttl <= 0 {
		ttl = DefaultMessageTTL
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Courier{store: st, templates: tmpl, ttl: ttl, logger: logger}
}

func (c *Courier) now() time.Time {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// QueueEmail renders the email of template t for data and queues it. The
// recipient is data.To, which must be a single email address.
func (c *Courier) QueueEmail(ctx context.Context, t TemplateType, data EmailData) (uuid.UUID, error) {
	if !t.valid() {
		return uuid.Nil, fmt.Errorf("courier: unknown email template %q", t)
	}
	to, err := parseRecipient(data.To)
	if err != nil {
		return uuid.Nil, err
	}
	data.To = to
	model := data.model(t)
	rendered, err := c.templates.Render(t, model)
	if err != nil {
		return uuid.Nil, err
	}
	raw, err := json.Marshal(model)
	if err != nil {
		return uuid.Nil, fmt.Errorf("courier: encoding the template data: %w", err)
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return uuid.Nil, err
	}
	now := c.now()
	m := &Message{
		ID: id, Type: MessageTypeEmail, Status: StatusQueued,
		Recipient: to, Subject: rendered.Subject, Body: rendered.Plaintext,
		TemplateType: t, TemplateData: raw,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := c.seal(m); err != nil {
		return uuid.Nil, err
	}
	if err := c.store.CreateMessage(ctx, m); err != nil {
		return uuid.Nil, fmt.Errorf("courier: queueing the %s email: %w", t, err)
	}
	c.logger.Debug("queued email", "message_id", id, "template_type", t)
	return id, nil
}

// parseRecipient accepts one bare email address (no display name, no line
// breaks) and returns it trimmed.
func parseRecipient(to string) (string, error) {
	to = strings.TrimSpace(to)
	if to == "" {
		return "", errors.New("courier: the email has no recipient")
	}
	if strings.ContainsAny(to, "\r\n<>,") {
		return "", fmt.Errorf("courier: %q is not a single email address", to)
	}
	a, err := mail.ParseAddress(to)
	if err != nil || a.Address != to {
		return "", fmt.Errorf("courier: %q is not a single email address", to)
	}
	return to, nil
}

// newClaimToken returns a random token identifying one claiming round.
func newClaimToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
