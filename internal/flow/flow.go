// Package flow is the self-service flow engine. Login, registration,
// settings, recovery and verification share one lifecycle — create (browser
// or API), persist, fetch, expire, submit, and answer with a redirect or
// JSON — written once here. What differs per kind lives in one small file per
// kind; what differs per method (password, profile, link, …) lives in the
// method packages, which plug in through the interfaces in method.go.
package flow

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// Kind names a flow kind.
type Kind string

const (
	Login        Kind = "login"
	Registration Kind = "registration"
	Settings     Kind = "settings"
	Recovery     Kind = "recovery"
	Verification Kind = "verification"
)

// Type tells browser flows (cookies, CSRF, redirects) from API flows
// (native apps, tokens, JSON only).
type Type string

const (
	TypeBrowser Type = "browser"
	TypeAPI     Type = "api"
)

// States of settings, recovery and verification flows.
const (
	StateShowForm        = "show_form"
	StateSuccess         = "success"
	StateChooseMethod    = "choose_method"
	StateSentEmail       = "sent_email"
	StatePassedChallenge = "passed_challenge"
)

// Flow is one self-service flow of any kind.
type Flow struct {
	ID         uuid.UUID
	Kind       Kind
	Type       Type
	ExpiresAt  time.Time
	IssuedAt   time.Time
	RequestURL string
	// Active is the method that was last used on the flow.
	Active string
	UI     *ui.Container
	State  string

	// Login only.
	Refresh      bool
	RequestedAAL string

	// IdentityID is the identity a settings flow belongs to (and, for
	// recovery, the recovered identity).
	IdentityID uuid.NullUUID
	// Identity is loaded for settings flows before they are served.
	Identity *identity.Identity

	// CSRFTokenHash binds a browser flow to the browser that created it.
	CSRFTokenHash string
	// Internal holds method- and kind-specific state that is never served.
	Internal map[string]json.RawMessage

	CreatedAt time.Time
	UpdatedAt time.Time
}

// ReturnTo is the return_to query parameter of the request that created
// the flow.
func (f *Flow) ReturnTo() string {
	u, err := url.Parse(f.RequestURL)
	if err != nil {
		return ""
	}
	return u.Query().Get("return_to")
}

// IsExpired reports whether the flow can no longer be used.
func (f *Flow) IsExpired(now time.Time) bool { return !now.Before(f.ExpiresAt) }

// SetInternal stores v under key in the flow's internal context.
func (f *Flow) SetInternal(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if f.Internal == nil {
		f.Internal = map[string]json.RawMessage{}
	}
	f.Internal[key] = raw
	return nil
}

// GetInternal decodes the value under key into v; ok is false when absent.
func (f *Flow) GetInternal(key string, v any) (ok bool, err error) {
	raw, ok := f.Internal[key]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// DeleteInternal removes a key from the internal context.
func (f *Flow) DeleteInternal(key string) { delete(f.Internal, key) }

// MarshalJSON renders the fields the API exposes for the flow's kind, in
// the order Kratos writes them.
func (f *Flow) MarshalJSON() ([]byte, error) {
	type common struct {
		ID         uuid.UUID     `json:"id"`
		Type       Type          `json:"type"`
		ExpiresAt  time.Time     `json:"expires_at"`
		IssuedAt   time.Time     `json:"issued_at"`
		RequestURL string        `json:"request_url"`
		ReturnTo   string        `json:"return_to,omitempty"`
		Active     string        `json:"active,omitempty"`
		UI         *ui.Container `json:"ui"`
	}
	c := common{ID: f.ID, Type: f.Type, ExpiresAt: f.ExpiresAt, IssuedAt: f.IssuedAt, RequestURL: f.RequestURL, ReturnTo: f.ReturnTo(), Active: f.Active, UI: f.UI}
	switch f.Kind {
	case Login:
		return json.Marshal(struct {
			common
			CreatedAt    time.Time `json:"created_at"`
			UpdatedAt    time.Time `json:"updated_at"`
			Refresh      bool      `json:"refresh"`
			RequestedAAL string    `json:"requested_aal"`
		}{c, f.CreatedAt, f.UpdatedAt, f.Refresh, f.RequestedAAL})
	case Settings:
		var i *identity.Identity
		if f.Identity != nil {
			i = f.Identity.Public()
		}
		return json.Marshal(struct {
			common
			Identity *identity.Identity `json:"identity"`
			State    string             `json:"state"`
		}{c, i, f.State})
	case Recovery, Verification:
		return json.Marshal(struct {
			common
			State string `json:"state"`
		}{c, f.State})
	default:
		return json.Marshal(c)
	}
}

// Store is the storage the engine needs, in its own terms.
type Store interface {
	CreateFlow(ctx context.Context, f *Flow) error
	GetFlow(ctx context.Context, id uuid.UUID) (*Flow, error)
	UpdateFlow(ctx context.Context, f *Flow) error
	CreateSelfServiceError(ctx context.Context, e *ErrorContainer) error
	GetSelfServiceError(ctx context.Context, id uuid.UUID) (*ErrorContainer, error)
}

// Records is the storage of flow and error records (package store's plain
// shapes, which storage keeps without knowing this package).
type Records interface {
	CreateFlow(ctx context.Context, f *store.FlowRecord) error
	GetFlow(ctx context.Context, id uuid.UUID) (*store.FlowRecord, error)
	UpdateFlow(ctx context.Context, f *store.FlowRecord) error
	CreateSelfServiceError(ctx context.Context, e *store.ErrorRecord) error
	GetSelfServiceError(ctx context.Context, id uuid.UUID) (*store.ErrorRecord, error)
}

// StoreOver turns flow records storage into the engine's Store.
func StoreOver(r Records) Store { return recordStore{r} }

type recordStore struct{ r Records }

func toRecord(f *Flow) (*store.FlowRecord, error) {
	u, err := json.Marshal(f.UI)
	if err != nil {
		return nil, err
	}
	in := f.Internal
	if in == nil {
		in = map[string]json.RawMessage{}
	}
	i, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	return &store.FlowRecord{
		ID: f.ID, Kind: string(f.Kind), Type: string(f.Type), RequestURL: f.RequestURL, IssuedAt: f.IssuedAt,
		ExpiresAt: f.ExpiresAt, Active: f.Active, CSRFTokenHash: f.CSRFTokenHash, State: f.State, UI: u,
		IdentityID: f.IdentityID, Refresh: f.Refresh, RequestedAAL: f.RequestedAAL, Internal: i,
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}, nil
}

func (s recordStore) CreateFlow(ctx context.Context, f *Flow) error {
	rec, err := toRecord(f)
	if err != nil {
		return err
	}
	return s.r.CreateFlow(ctx, rec)
}

func (s recordStore) UpdateFlow(ctx context.Context, f *Flow) error {
	rec, err := toRecord(f)
	if err != nil {
		return err
	}
	return s.r.UpdateFlow(ctx, rec)
}

func (s recordStore) GetFlow(ctx context.Context, id uuid.UUID) (*Flow, error) {
	rec, err := s.r.GetFlow(ctx, id)
	if err != nil {
		return nil, err
	}
	f := &Flow{
		ID: rec.ID, Kind: Kind(rec.Kind), Type: Type(rec.Type), RequestURL: rec.RequestURL, IssuedAt: rec.IssuedAt,
		ExpiresAt: rec.ExpiresAt, Active: rec.Active, CSRFTokenHash: rec.CSRFTokenHash, State: rec.State,
		IdentityID: rec.IdentityID, Refresh: rec.Refresh, RequestedAAL: rec.RequestedAAL,
		CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt, UI: &ui.Container{},
	}
	if err := json.Unmarshal(rec.UI, f.UI); err != nil {
		return nil, err
	}
	if len(rec.Internal) > 0 {
		if err := json.Unmarshal(rec.Internal, &f.Internal); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (s recordStore) CreateSelfServiceError(ctx context.Context, e *ErrorContainer) error {
	return s.r.CreateSelfServiceError(ctx, &store.ErrorRecord{
		ID: e.ID, Error: e.Error, CSRFHash: e.CSRFHash, WasSeen: e.WasSeen, SeenAt: e.SeenAt, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	})
}

func (s recordStore) GetSelfServiceError(ctx context.Context, id uuid.UUID) (*ErrorContainer, error) {
	rec, err := s.r.GetSelfServiceError(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ErrorContainer{
		ID: rec.ID, Error: rec.Error, CSRFHash: rec.CSRFHash, WasSeen: rec.WasSeen, SeenAt: rec.SeenAt, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt,
	}, nil
}

// ErrorContainer is a stored error shown by the error UI.
type ErrorContainer struct {
	ID        uuid.UUID       `json:"id"`
	Error     json.RawMessage `json:"error"`
	CSRFHash  string          `json:"-"`
	WasSeen   bool            `json:"-"`
	SeenAt    *time.Time      `json:"-"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}
