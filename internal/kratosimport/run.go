// Package kratosimport moves the data of an Ory Kratos v0.9 database into
// Hoplite's: identities with their credentials (password hashes in every
// format Kratos wrote, TOTP, lookup codes, WebAuthn keys, OIDC links) and
// addresses, active sessions (stored under the keyed hashes of their tokens,
// so the tokens and cookies users hold keep working) and, if asked, pending
// mail.
//
// The source is only read. Ids and timestamps are kept, which is what makes
// the move idempotent and resumable: rows whose id already exists in Hoplite
// are skipped, and each page of identities is written in one transaction, so
// an interrupted run leaves whole pages behind and a second run finishes the
// rest. Per-item problems are reported and skipped; only errors that stop
// every item (a lost connection) end the run.
package kratosimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
)

// Target is the Hoplite side of the move.
type Target struct {
	Store *sqlstore.Store
	// SchemaFor resolves an identity schema id ("" = the default schema) as
	// the identity service does.
	SchemaFor func(id string) (*schema.Schema, error)
	// AvailableAAL derives an identity's highest assurance level from its
	// credentials, as the identity service does.
	AvailableAAL func(i *identity.Identity) string
	// TokenHash is the session manager's keyed hash of a session token.
	TokenHash func(token string) string
	// Secrets are secrets.default, which key the hashes of lookup codes.
	Secrets []string
}

// Options tune a run.
type Options struct {
	// Source is the Kratos DSN.
	Source string
	// Network is the Kratos network id to read; needed only when the source
	// holds more than one.
	Network string
	// DryRun reads, converts and checks everything but writes nothing.
	DryRun bool
	// Messages also moves queued courier messages.
	Messages bool
	// BatchSize is how many rows one page (and one write transaction)
	// holds. Default DefaultBatchSize.
	BatchSize int
	// Progress receives progress lines (nil: none); Bar draws them as a bar
	// redrawn in place, for a terminal.
	Progress io.Writer
	Bar      bool
	// Now is the clock deciding which sessions are expired (default
	// time.Now).
	Now func() time.Time
}

// DefaultBatchSize is the default page. Each page's transaction inserts
// into indexes keyed by random values (ids, token hashes, identifiers), so
// once an index has many more leaf pages than a transaction has rows,
// nearly every row dirties a page of its own, which the commit writes out
// (twice with SQLite: to the write-ahead log, then to the file). Larger
// transactions share more of those pages: on SQLite, 100 000 users took
// about 40 s of CPU with pages of 2 000, about 30 s with 10 000 and 28 s
// with 25 000. The memory held is about two pages.
const DefaultBatchSize = 10000

// Counts describe one kind of row.
type Counts struct {
	// Source is how many rows the Kratos database holds.
	Source int `json:"source"`
	// Moved were written (or, in a dry run, would be).
	Moved int `json:"moved"`
	// Existing were already in Hoplite (an earlier run moved them).
	Existing int `json:"existing"`
	// Skipped were left behind on purpose (sessions no longer active,
	// messages already sent) or because of a problem.
	Skipped int `json:"skipped"`
}

// Problem is one item that could not be moved.
type Problem struct {
	Kind   string    `json:"kind"` // identity, session, message
	ID     uuid.UUID `json:"id"`
	Reason string    `json:"reason"`
}

// Report is the outcome of a run.
type Report struct {
	DryRun     bool      `json:"dry_run"`
	Identities Counts    `json:"identities"`
	Sessions   Counts    `json:"sessions"`
	Messages   *Counts   `json:"messages,omitempty"`
	Problems   []Problem `json:"problems"`
	// ProblemCount counts every problem; Problems keeps the first
	// MaxProblems of them, so memory stays flat.
	ProblemCount int           `json:"problem_count"`
	Duration     time.Duration `json:"duration"`
}

// MaxProblems bounds the problems a report lists.
const MaxProblems = 1000

func (r *Report) problem(kind string, id uuid.UUID, reason string) {
	r.ProblemCount++
	if len(r.Problems) < MaxProblems {
		r.Problems = append(r.Problems, Problem{Kind: kind, ID: id, Reason: reason})
	}
}

type mover struct {
	src    *source
	target Target
	opts   Options
	lookup *secret.TokenHasher
	// seeder writes every page over one connection (nil in a dry run).
	seeder *sqlstore.Seeder
	report *Report
	bar    *progress
	// failed holds identities skipped for a problem, so that a dry run can
	// tell which sessions would lose their identity.
	failed map[uuid.UUID]bool
}

// Run moves everything. The report is returned also with an error, with
// the counts reached so far.
func Run(ctx context.Context, target Target, opts Options) (*Report, error) {
	start := time.Now()
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	report := &Report{DryRun: opts.DryRun, Problems: []Problem{}}
	src, err := openSource(ctx, opts.Source)
	if err != nil {
		return report, err
	}
	defer src.Close()
	if err := src.inspect(ctx, opts.Network); err != nil {
		return report, err
	}
	m := &mover{src: src, target: target, opts: opts, lookup: LookupCodeHasher(target.Secrets), report: report, failed: map[uuid.UUID]bool{}}
	defer func() { report.Duration = time.Since(start) }()
	if !opts.DryRun {
		// Durable: SQLite keeps its synchronous commits, so a crash (or a
		// power loss) leaves whole pages behind and a second run resumes.
		if m.seeder, err = target.Store.NewSeeder(ctx, true); err != nil {
			return report, fmt.Errorf("connecting to Hoplite's database: %w", err)
		}
		defer m.seeder.Close()
	}

	if report.Identities.Source, err = src.count(ctx, "identities"); err != nil {
		return report, fmt.Errorf("counting identities: %w", err)
	}
	if report.Sessions.Source, err = src.count(ctx, "sessions"); err != nil {
		return report, fmt.Errorf("counting sessions: %w", err)
	}
	m.bar = newProgress(opts.Progress, opts.Bar, "identities", report.Identities.Source)
	err = m.moveIdentities(ctx)
	m.bar.done()
	if err != nil {
		return report, err
	}
	m.bar = newProgress(opts.Progress, opts.Bar, "sessions", report.Sessions.Source)
	err = m.moveSessions(ctx)
	m.bar.done()
	if err != nil {
		return report, err
	}
	if opts.Messages {
		report.Messages = &Counts{}
		if report.Messages.Source, err = src.count(ctx, "courier_messages"); err != nil {
			return report, fmt.Errorf("counting courier messages: %w", err)
		}
		m.bar = newProgress(opts.Progress, opts.Bar, "messages", report.Messages.Source)
		err = m.moveMessages(ctx)
		m.bar.done()
		if err != nil {
			return report, err
		}
	}
	return report, nil
}

// existing returns which of ids are already rows of table in Hoplite.
func (m *mover) existing(ctx context.Context, table string, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := make(map[uuid.UUID]bool)
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for k, id := range ids {
		args[k] = id
	}
	db := m.target.Store.DB()
	rows, err := db.QueryContext(ctx, rebind(m.target.Store.Dialect(), "SELECT id FROM "+table+" WHERE id IN ("+placeholders(len(ids))+")"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id flexUUID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[uuid.UUID(id)] = true
	}
	return out, rows.Err()
}

// write inserts a page of identities in one transaction. When the page
// conflicts with rows already in Hoplite (an identifier or address another
// identity holds), each identity is written on its own, so that only the
// conflicting ones are reported.
func (m *mover) write(ctx context.Context, batch []*identity.Identity) error {
	if len(batch) == 0 || m.opts.DryRun {
		m.report.Identities.Moved += len(batch)
		return nil
	}
	err := m.seeder.Identities(ctx, batch)
	if err == nil {
		m.report.Identities.Moved += len(batch)
		return nil
	}
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	for _, i := range batch {
		err := m.seeder.Identities(ctx, []*identity.Identity{i})
		switch {
		case err == nil:
			m.report.Identities.Moved++
		case errors.Is(err, store.ErrConflict):
			m.report.Identities.Skipped++
			m.report.problem("identity", i.ID, "an identifier or address of this identity already belongs to another identity in Hoplite")
		default:
			return err
		}
	}
	return nil
}

// pageOf is one page read (and converted) ahead of the writer.
type pageOf[T any] struct {
	items []T
	err   error
}

// prefetch reads pages in a goroutine, one page ahead of the caller, so
// that reading and converting the next page overlaps with writing the
// current one. read returns a page and the id to continue after; an empty
// page ends. The returned stop must be called when the caller is done.
//
// The channel has no buffer: the page being written and the one being read
// are all that is held (a buffered page would be a third, for no more
// overlap).
func prefetch[T any](ctx context.Context, read func(ctx context.Context, after uuid.UUID) ([]T, uuid.UUID, error)) (<-chan pageOf[T], func()) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan pageOf[T])
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		var after uuid.UUID
		for {
			items, last, err := read(ctx, after)
			if len(items) == 0 && err == nil {
				return
			}
			select {
			case out <- pageOf[T]{items: items, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			after = last
		}
	}()
	return out, func() {
		cancel()
		for range out {
		}
		<-done
	}
}

// convertedIdentity is what a source identity becomes (or why it cannot);
// the source rows are not kept, so a page waiting for the writer holds
// only one copy of its identities.
type convertedIdentity struct {
	id  uuid.UUID
	i   *identity.Identity
	err error
}

func (m *mover) moveIdentities(ctx context.Context) error {
	pages, stop := prefetch(ctx, func(ctx context.Context, after uuid.UUID) ([]convertedIdentity, uuid.UUID, error) {
		page, err := m.src.identities(ctx, after, m.opts.BatchSize)
		if err != nil || len(page) == 0 {
			return nil, uuid.Nil, err
		}
		out := make([]convertedIdentity, len(page))
		for k, src := range page {
			i, err := m.convertIdentity(src)
			out[k] = convertedIdentity{id: src.ID, i: i, err: err}
		}
		return out, page[len(page)-1].ID, nil
	})
	defer stop()
	for p := range pages {
		if p.err != nil {
			return fmt.Errorf("reading identities: %w", p.err)
		}
		ids := make([]uuid.UUID, len(p.items))
		for k, c := range p.items {
			ids[k] = c.id
		}
		have, err := m.existing(ctx, "identities", ids)
		if err != nil {
			return fmt.Errorf("checking identities already moved: %w", err)
		}
		batch := make([]*identity.Identity, 0, len(p.items))
		for _, c := range p.items {
			switch {
			case have[c.id]:
				m.report.Identities.Existing++
			case c.err != nil:
				m.failed[c.id] = true
				m.report.Identities.Skipped++
				m.report.problem("identity", c.id, c.err.Error())
			default:
				batch = append(batch, c.i)
			}
		}
		if err := m.write(ctx, batch); err != nil {
			return fmt.Errorf("writing identities: %w", err)
		}
		m.bar.add(len(p.items))
	}
	return ctx.Err()
}

func (m *mover) moveSessions(ctx context.Context) error {
	pages, stop := prefetch(ctx, func(ctx context.Context, after uuid.UUID) ([]srcSession, uuid.UUID, error) {
		page, err := m.src.sessions(ctx, after, m.opts.BatchSize)
		if err != nil || len(page) == 0 {
			return nil, uuid.Nil, err
		}
		return page, page[len(page)-1].ID, nil
	})
	defer stop()
	for p := range pages {
		if p.err != nil {
			return fmt.Errorf("reading sessions: %w", p.err)
		}
		page := p.items
		now := m.opts.Now()
		var ids, identityIDs []uuid.UUID
		for _, s := range page {
			ids = append(ids, s.ID)
			identityIDs = append(identityIDs, s.IdentityID)
		}
		have, err := m.existing(ctx, "sessions", ids)
		if err != nil {
			return fmt.Errorf("checking sessions already moved: %w", err)
		}
		owners, err := m.existing(ctx, "identities", identityIDs)
		if err != nil {
			return fmt.Errorf("checking session identities: %w", err)
		}
		batch := make([]*session.Session, 0, len(page))
		for _, src := range page {
			switch {
			case have[src.ID]:
				m.report.Sessions.Existing++
			case !src.Active || !src.ExpiresAt.After(now):
				// Revoked or expired: nobody can use it any more.
				m.report.Sessions.Skipped++
			case !owners[src.IdentityID] && (!m.opts.DryRun || m.failed[src.IdentityID]):
				m.report.Sessions.Skipped++
				m.report.problem("session", src.ID, "its identity "+src.IdentityID.String()+" was not moved")
			default:
				s, err := m.convertSession(src)
				if err != nil {
					m.report.Sessions.Skipped++
					m.report.problem("session", src.ID, err.Error())
					continue
				}
				batch = append(batch, s)
			}
		}
		if len(batch) > 0 && !m.opts.DryRun {
			if err := m.seeder.Sessions(ctx, batch); err != nil {
				return fmt.Errorf("writing sessions: %w", err)
			}
		}
		m.report.Sessions.Moved += len(batch)
		m.bar.add(len(page))
	}
	return ctx.Err()
}

// Kratos courier statuses.
const (
	kratosMessageQueued     = 1
	kratosMessageProcessing = 3
)

func (m *mover) moveMessages(ctx context.Context) error {
	var after uuid.UUID
	for {
		page, err := m.src.messages(ctx, after, m.opts.BatchSize)
		if err != nil {
			return fmt.Errorf("reading courier messages: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		after = page[len(page)-1].ID
		ids := make([]uuid.UUID, len(page))
		for k, x := range page {
			ids[k] = x.ID
		}
		have, err := m.existing(ctx, "courier_messages", ids)
		if err != nil {
			return fmt.Errorf("checking courier messages already moved: %w", err)
		}
		for _, x := range page {
			switch {
			case have[x.ID]:
				m.report.Messages.Existing++
				continue
			case x.Status != kratosMessageQueued && x.Status != kratosMessageProcessing:
				// Sent or abandoned.
				m.report.Messages.Skipped++
				continue
			}
			msg := &courier.Message{
				ID: x.ID, Type: courier.MessageType(x.Type), Status: courier.Status(kratosMessageQueued),
				Recipient: x.Recipient, Subject: x.Subject, Body: x.Body,
				TemplateType: courier.TemplateType(x.TemplateType), TemplateData: x.TemplateData,
				CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt,
			}
			if len(msg.TemplateData) == 0 {
				msg.TemplateData = []byte("{}")
			}
			if !m.opts.DryRun {
				if err := m.target.Store.CreateMessage(ctx, msg); err != nil {
					return fmt.Errorf("writing courier message %s: %w", x.ID, err)
				}
			}
			m.report.Messages.Moved++
		}
		m.bar.add(len(page))
	}
}
