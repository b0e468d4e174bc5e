package flow_test

// security.credential_changes in the engine, over the in-memory fakes: a
// settings result that says a sign-in secret changed ends the other
// sessions (keeping the one that made the change), asks the recovery
// methods that can to revoke their links, and notifies the owner; a result
// that does not say so, or the keys left off, does none of it.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/csrf"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store"
)

// credRecorder records what the engine asked of the session store, the
// link revoker and the notifier.
type credRecorder struct {
	mu       sync.Mutex
	revoked  [][2]uuid.UUID // identity, kept session
	links    []uuid.UUID
	notified []flow.CredentialChange
}

type recordingSessions struct {
	*memSessions
	rec *credRecorder
}

func (s recordingSessions) RevokeSessionsExcept(_ context.Context, identityID, keep uuid.UUID) (int, error) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.revoked = append(s.rec.revoked, [2]uuid.UUID{identityID, keep})
	return 1, nil
}

// swap is a settings method: a submission with "secret" replaces a
// sign-in secret, one without changes something else.
type swap struct{}

func (swap) ID() string { return "swap" }
func (swap) PopulateSettings(*http.Request, *flow.Flow, *identity.Identity) error {
	return nil
}
func (swap) Settings(_ context.Context, _ *http.Request, _ *flow.Flow, b *flow.Body, _ *flow.SettingsRequest) (*flow.Result, error) {
	return &flow.Result{SecretChanged: b.String("secret") != ""}, nil
}

// revoker is a recovery method whose links can be revoked.
type revoker struct{ rec *credRecorder }

func (revoker) ID() string                                       { return "revoker" }
func (revoker) PopulateRecovery(*http.Request, *flow.Flow) error { return nil }
func (revoker) Recover(context.Context, *http.Request, *flow.Flow, *flow.Body) (*flow.Result, error) {
	return nil, nil
}
func (r revoker) RevokeRecoveryLinks(_ context.Context, id uuid.UUID) error {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	r.rec.links = append(r.rec.links, id)
	return nil
}

type notifier struct{ rec *credRecorder }

func (n notifier) NotifyCredentialChange(_ context.Context, _ *identity.Identity, c flow.CredentialChange) error {
	n.rec.mu.Lock()
	defer n.rec.mu.Unlock()
	n.rec.notified = append(n.rec.notified, c)
	return nil
}

// credHarness serves API login (oneStep) and settings (swap) flows.
func credHarness(t *testing.T, cc config.CredentialChanges) (*harness, *credRecorder) {
	t.Helper()
	h := &harness{}
	now := time.Now().UTC()
	h.clock = &now
	mux := http.NewServeMux()
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	h.public = h.srv.URL
	public, _ := url.Parse(h.public + "/")
	reg, err := schema.Load(context.Background(), []schema.Source{schema.BuiltinSource()}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &credRecorder{}
	h.ids = &memIdentities{ids: map[uuid.UUID]*identity.Identity{}}
	h.flows = &memRecords{flows: map[uuid.UUID]store.FlowRecord{}, errors: map[uuid.UUID]store.ErrorRecord{}}
	idsvc := identity.NewService(h.ids, reg, public)
	sessions := session.NewManager(recordingSessions{&memSessions{byHash: map[string]*session.Session{}, identity: h.ids}, rec},
		[]string{"a-secret-of-at-least-16-chars"}, session.Config{Lifespan: time.Hour, Cookie: session.CookieConfig{Name: "ory_kratos_session", Path: "/"}}, idsvc.Expose)
	h.alice = &identity.Identity{ID: uuid.New(), SchemaID: "default", State: identity.StateActive, Traits: json.RawMessage(`{"email":"alice@example.org"}`)}
	_ = h.ids.CreateIdentity(context.Background(), h.alice)
	cfg := flow.Config{
		PublicURL: public,
		Kinds: map[flow.Kind]flow.KindConfig{
			flow.Login:    {UIURL: h.public + "/ui/login", Lifespan: 10 * time.Minute, Enabled: true},
			flow.Settings: {UIURL: h.public + "/ui/settings", Lifespan: 10 * time.Minute, Enabled: true},
		},
		ErrorUIURL:              h.public + "/ui/error",
		PrivilegedSessionMaxAge: time.Hour,
		SettingsRequiredAAL:     identity.AAL1,
		AfterHooks:              func(string, string) []config.Hook { return nil },
		ReturnTo:                func(string, string) string { return h.public + "/home" },
		MethodReturnURL:         func(string, string) string { return "" },
		AfterReturnURL:          func(string) string { return "" },
		CredentialChanges:       cc,
	}
	e := flow.NewEngine(flow.Deps{
		Config: cfg, Store: flow.StoreOver(h.flows), Sessions: sessions, Identities: idsvc,
		CSRF:     csrf.New(public.String(), csrf.CookieSettings{Path: "/", SameSite: http.SameSiteLaxMode}),
		Logger:   testLogger(t),
		Notifier: notifier{rec},
		Methods:  []flow.Method{oneStep{h.ids}, swap{}, revoker{rec}},
		Clock:    func() time.Time { return *h.clock },
	})
	mux.HandleFunc("GET /self-service/login/api", e.InitLogin(flow.TypeAPI))
	mux.HandleFunc("POST /self-service/login", e.SubmitLogin)
	mux.HandleFunc("GET /self-service/settings/api", e.InitSettings(flow.TypeAPI))
	mux.HandleFunc("POST /self-service/settings", e.SubmitSettings)
	return h, rec
}

// apiSession signs alice in through an API login flow and returns the
// session's token and id.
func (h *harness) apiSession(t *testing.T) (string, string) {
	t.Helper()
	c := &http.Client{}
	f := h.do(t, c, "GET", "/self-service/login/api", nil)
	a := h.do(t, c, "POST", "/self-service/login?flow="+f.flowID(t), map[string]any{"method": "onestep", "identifier": h.alice.ID.String()})
	token, _ := a.body["session_token"].(string)
	sess, _ := a.body["session"].(map[string]any)
	if a.status != 200 || token == "" || sess == nil {
		t.Fatalf("login %d %v", a.status, a.body)
	}
	return token, sess["id"].(string)
}

// settings submits body to a new API settings flow of the session token.
func (h *harness) settings(t *testing.T, token string, body map[string]any) {
	t.Helper()
	c := &http.Client{}
	f := h.do(t, c, "GET", "/self-service/settings/api", nil, "X-Session-Token", token)
	a := h.do(t, c, "POST", "/self-service/settings?flow="+f.flowID(t), body, "X-Session-Token", token)
	if a.status != 200 || a.body["state"] != "success" {
		t.Fatalf("settings %d %v", a.status, a.body)
	}
}

func TestEngineCredentialChanges(t *testing.T) {
	all := config.CredentialChanges{RevokeOtherSessions: true, Notify: true, InvalidateRecoveryLinks: true}

	t.Run("a replaced secret, every key on", func(t *testing.T) {
		h, rec := credHarness(t, all)
		h.apiSession(t) // another session
		token, id := h.apiSession(t)
		h.settings(t, token, map[string]any{"method": "swap", "secret": "new"})
		if len(rec.revoked) != 1 || rec.revoked[0][0] != h.alice.ID || rec.revoked[0][1].String() != id {
			t.Errorf("revocations %v, want one for %s keeping %s", rec.revoked, h.alice.ID, id)
		}
		if len(rec.links) != 1 || rec.links[0] != h.alice.ID {
			t.Errorf("revoked links of %v, want %s", rec.links, h.alice.ID)
		}
		if len(rec.notified) != 1 || rec.notified[0] != flow.SecretReplaced {
			t.Errorf("notices %v, want %s", rec.notified, flow.SecretReplaced)
		}
	})

	t.Run("a change that replaced no secret", func(t *testing.T) {
		h, rec := credHarness(t, all)
		token, _ := h.apiSession(t)
		h.settings(t, token, map[string]any{"method": "swap"})
		if len(rec.revoked)+len(rec.links)+len(rec.notified) != 0 {
			t.Errorf("revoked %v, links %v, notices %v after a change of no secret", rec.revoked, rec.links, rec.notified)
		}
	})

	t.Run("keys off", func(t *testing.T) {
		h, rec := credHarness(t, config.CredentialChanges{})
		token, _ := h.apiSession(t)
		h.settings(t, token, map[string]any{"method": "swap", "secret": "new"})
		if len(rec.revoked)+len(rec.links)+len(rec.notified) != 0 {
			t.Errorf("revoked %v, links %v, notices %v with the keys off", rec.revoked, rec.links, rec.notified)
		}
	})

	t.Run("one key on", func(t *testing.T) {
		h, rec := credHarness(t, config.CredentialChanges{Notify: true})
		token, _ := h.apiSession(t)
		h.settings(t, token, map[string]any{"method": "swap", "secret": "new"})
		if len(rec.revoked) != 0 || len(rec.links) != 0 || len(rec.notified) != 1 {
			t.Errorf("revoked %v, links %v, notices %v with only notify on", rec.revoked, rec.links, rec.notified)
		}
	})
}
