package courier

import (
	"context"
	"sync"
	"time"
)

// Outbox is a Sender for development without a mail server: it hands each
// message to the next sender (the log) and keeps the latest ones in memory,
// so that a person can read them on the built-in dev mail page and follow
// their links. It never leaves the process and keeps nothing on disk.
type Outbox struct {
	next  Sender
	limit int

	mu    sync.Mutex
	mails []OutboxMail
}

// OutboxMail is a message as the dev mail page shows it.
type OutboxMail struct {
	To      string
	Subject string
	Body    string
	At      time.Time
}

// NewOutbox keeps the latest limit messages sent through it.
func NewOutbox(next Sender, limit int) *Outbox {
	if limit <= 0 {
		limit = 100
	}
	return &Outbox{next: next, limit: limit}
}

// Send records m, then passes it on.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	o.mu.Lock()
	o.mails = append(o.mails, OutboxMail{To: m.Recipient, Subject: m.Subject, Body: m.Body, At: time.Now().UTC()})
	if len(o.mails) > o.limit {
		o.mails = append([]OutboxMail(nil), o.mails[len(o.mails)-o.limit:]...)
	}
	o.mu.Unlock()
	if o.next == nil {
		return nil
	}
	return o.next.Send(ctx, m)
}

// Mails returns the kept messages, newest first.
func (o *Outbox) Mails() []OutboxMail {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]OutboxMail, len(o.mails))
	for k, m := range o.mails {
		out[len(o.mails)-1-k] = m
	}
	return out
}
