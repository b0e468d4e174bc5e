package courier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/store"
)

// Run delivers queued messages through sender until ctx ends, then returns
// nil. Each round abandons messages older than the TTL, claims up to
// BatchSize messages (oldest first) and sends them one by one. A failed
// message goes back to the queue and is retried after RetryDelay (doubling
// per attempt); after a failure that concerns the server rather than the
// message, the rest of the batch is put back untouched. Store errors make
// the worker back off exponentially. When ctx ends, a delivery under way
// is finished and recorded, and the rest of the batch is put back.
func (c *Courier) Run(ctx context.Context, sender Sender) error {
	if sender == nil {
		return ErrNoSender
	}
	poll := positive(c.PollInterval, DefaultPollInterval)
	maxBackoff := positive(c.MaxBackoff, DefaultMaxBackoff)
	c.logger.Info("courier started", "poll_interval", poll.String(), "message_ttl", c.ttl.String())
	defer c.logger.Info("courier stopped")

	backoff := time.Duration(0)
	for {
		claimed, err := c.round(ctx, sender)
		if ctx.Err() != nil {
			return nil
		}
		wait := poll
		switch {
		case err != nil:
			if backoff == 0 {
				backoff = poll
			} else {
				backoff = min(backoff*2, maxBackoff)
			}
			wait = backoff
			if errors.Is(err, ErrServerUnavailable) {
				c.logger.Warn("courier: the mail server is unavailable; backing off", "error", err, "retry_in", wait.String())
			} else {
				c.logger.Error("courier: processing the queue failed; backing off", "error", err, "retry_in", wait.String())
			}
		case claimed >= c.batchSize():
			backoff = 0
			wait = 0 // more may be waiting
		default:
			backoff = 0
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
	}
}

// Start runs the worker in a goroutine (serve --watch-courier). The
// returned stop function ends it and waits until it has stopped, so the
// store can be closed afterwards; it may be called more than once.
func (c *Courier) Start(ctx context.Context, sender Sender) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(ctx, sender); err != nil {
			c.logger.Error("courier: the worker stopped", "error", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func positive(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (c *Courier) batchSize() int {
	if c.BatchSize > 0 {
		return c.BatchSize
	}
	return DefaultBatchSize
}

// RunOnce runs a single round: abandon, claim, send. It reports how many
// messages it claimed, and an error wrapping ErrServerUnavailable when the
// round stopped because the mail server could not be used.
func (c *Courier) RunOnce(ctx context.Context, sender Sender) (int, error) {
	return c.round(ctx, sender)
}

func (c *Courier) round(ctx context.Context, sender Sender) (int, error) {
	now := c.now()
	n, err := c.store.AbandonMessages(ctx, now.Add(-c.ttl), now)
	if err != nil {
		return 0, fmt.Errorf("abandoning expired messages: %w", err)
	}
	if n > 0 {
		c.logger.Warn("courier: abandoned messages that could not be sent within courier.message_ttl", "count", n, "message_ttl", c.ttl.String())
	}
	lease := positive(c.Lease, DefaultLease)
	token := newClaimToken()
	msgs, err := c.store.ClaimMessages(ctx, token, now, now.Add(lease), c.batchSize())
	if err != nil {
		return 0, fmt.Errorf("claiming messages: %w", err)
	}
	for k, m := range msgs {
		if ctx.Err() != nil {
			c.unclaim(msgs[k:], token)
			return len(msgs), nil
		}
		stopBatch, err := c.deliver(ctx, sender, m, token, lease)
		if err != nil || stopBatch {
			c.unclaim(msgs[k+1:], token)
			return len(msgs), err
		}
	}
	return len(msgs), nil
}

// deliver sends one claimed message and records the outcome. stopBatch
// says the rest of the batch should not be attempted now.
func (c *Courier) deliver(ctx context.Context, sender Sender, m Message, token string, lease time.Duration) (stopBatch bool, err error) {
	// Renew the lease right before sending: if it ran out and another
	// worker took the message meanwhile, leave the message to it.
	now := c.now()
	if err := c.store.RenewClaim(ctx, m.ID, token, now, now.Add(lease)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			c.logger.Debug("courier: the claim on a message was lost; skipping it", "message_id", m.ID)
			return false, nil
		}
		c.unclaim([]Message{m}, token)
		if ctx.Err() != nil {
			return true, nil
		}
		return true, fmt.Errorf("renewing the claim on message %s: %w", m.ID, err)
	}
	m, sendErr := c.Open(m)
	if sendErr == nil {
		sendErr = c.prepare(&m)
	}
	if sendErr == nil {
		// A delivery under way is finished even when ctx ends (the sender's
		// own timeouts bound it): interrupting it could leave a message
		// that the server accepted marked as unsent, and send it twice.
		sendErr = sender.Send(context.WithoutCancel(ctx), m)
	}
	if sendErr == nil {
		if !writesToLog(sender) {
			c.logSent(m)
		}
		// The message is out: record it even if ctx ended meanwhile.
		if err := c.markSent(context.WithoutCancel(ctx), m.ID, token); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				c.logger.Warn("courier: a message was sent after its claim ran out; another worker may send it as well", "message_id", m.ID)
				return false, nil
			}
			return true, fmt.Errorf("marking message %s as sent: %w", m.ID, err)
		}
		return false, nil
	}
	now = c.now()
	retryAt := now.Add(c.retryDelay(m.SendCount + 1))
	c.logger.Warn("courier: sending a message failed; it will be retried", "message_id", m.ID, "template_type", m.TemplateType,
		"attempt", m.SendCount+1, "retry_at", retryAt, "error", sendErr)
	if err := c.store.Release(context.WithoutCancel(ctx), m.ID, token, sendErr.Error(), now, retryAt); err != nil && !errors.Is(err, store.ErrNotFound) {
		return true, fmt.Errorf("releasing message %s: %w", m.ID, err)
	}
	if errors.Is(sendErr, ErrServerUnavailable) {
		return true, sendErr
	}
	return false, nil
}

// markSent records a delivery, trying a few times: a message left in
// processing would be sent again once its lease ran out.
func (c *Courier) markSent(ctx context.Context, id uuid.UUID, token string) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		if err = c.store.MarkSent(ctx, id, token, c.now()); err == nil || errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return err
}

// prepare renders the HTML body from the stored template data.
func (c *Courier) prepare(m *Message) error {
	if m.Type != MessageTypeEmail {
		return fmt.Errorf("courier: message type %d cannot be sent by email", m.Type)
	}
	if !m.TemplateType.valid() || len(m.TemplateData) == 0 {
		return nil // no HTML template: plaintext only
	}
	var data EmailData
	if err := json.Unmarshal(m.TemplateData, &data); err != nil {
		return fmt.Errorf("courier: decoding the template data: %w", err)
	}
	html, err := c.templates.RenderHTML(m.TemplateType, data)
	if err != nil {
		return err
	}
	m.HTMLBody = html
	return nil
}

func (c *Courier) logSent(m Message) {
	c.logger.Info("courier: sent email", "message_id", m.ID, "template_type", m.TemplateType)
	c.logger.Debug("courier: sent email to", "message_id", m.ID, "to", m.Recipient)
}

// retryDelay is the wait before attempt+1 after attempt failed.
func (c *Courier) retryDelay(attempt int) time.Duration {
	if c.RetryDelay < 0 {
		return 0
	}
	d := positive(c.RetryDelay, DefaultRetryDelay)
	maxDelay := positive(c.MaxRetryDelay, DefaultMaxRetryDelay)
	for k := 1; k < attempt && d < maxDelay; k++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// unclaim puts claimed messages back untouched, even while shutting down.
func (c *Courier) unclaim(msgs []Message, token string) {
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, m := range msgs {
		if err := c.store.Unclaim(ctx, m.ID, token, c.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			c.logger.Warn("courier: could not put a claimed message back; it is retried when its lease ends", "message_id", m.ID, "error", err)
		}
	}
}

// writesToLog reports whether sender logs each mail itself (then a "sent"
// line would contradict its "not sent, here it is" line).
func writesToLog(sender Sender) bool {
	switch s := sender.(type) {
	case LogSender:
		return true
	case *Outbox:
		return writesToLog(s.next)
	case interface{ Unwrap() Sender }: // a decorator (the failure counter)
		return writesToLog(s.Unwrap())
	}
	return false
}

// LogSender is the sender of development mode without an SMTP server: it
// writes each message (recipient, subject, plaintext body with its links)
// to the log and reports success. The worker does not add its "sent" line
// for these, so each mail is one log line.
type LogSender struct {
	Logger *slog.Logger
}

// LogSenderNotice is logged once at start when mails go to the log.
const LogSenderNotice = "courier: development mode without courier.smtp.connection_uri: emails are written to this log (one \"courier: email\" line each) instead of being sent"

// Send logs m.
func (l LogSender) Send(_ context.Context, m Message) error {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Info("courier: email",
		"message_id", m.ID, "template_type", m.TemplateType, "to", m.Recipient, "subject", m.Subject, "body", m.Body)
	return nil
}
