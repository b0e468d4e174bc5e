package flow_test

// The engine's lifecycle over in-memory fakes: no database, no real
// method. A fake first factor signs in in one step; a fake two-step method
// answers "continue" before it signs in; a fake social method answers
// "redirect" and finishes on a callback route of its own. The clock is the
// engine's, moved by the test instead of sleeping.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
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
	"github.com/hoplite-id/hoplite/internal/ui"
)

// ---- fakes of the storage interfaces --------------------------------------

// memRecords keeps flow and error records; the engine reaches it through
// flow.StoreOver, the adapter it uses over the SQL store too.
type memRecords struct {
	mu     sync.Mutex
	flows  map[uuid.UUID]store.FlowRecord
	errors map[uuid.UUID]store.ErrorRecord
}

func (m *memRecords) CreateFlow(_ context.Context, f *store.FlowRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flows[f.ID] = *f
	return nil
}

func (m *memRecords) UpdateFlow(_ context.Context, f *store.FlowRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.flows[f.ID]; !ok {
		return store.ErrNotFound
	}
	m.flows[f.ID] = *f
	return nil
}

func (m *memRecords) GetFlow(_ context.Context, id uuid.UUID) (*store.FlowRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.flows[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &f, nil
}

func (m *memRecords) CreateSelfServiceError(_ context.Context, e *store.ErrorRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errors[e.ID] = *e
	return nil
}

func (m *memRecords) GetSelfServiceError(_ context.Context, id uuid.UUID) (*store.ErrorRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.errors[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &e, nil
}

type memIdentities struct {
	mu  sync.Mutex
	ids map[uuid.UUID]*identity.Identity
}

func (m *memIdentities) CreateIdentity(_ context.Context, i *identity.Identity) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *i
	m.ids[i.ID] = &c
	return nil
}
func (m *memIdentities) UpdateIdentity(ctx context.Context, i *identity.Identity) error {
	return m.CreateIdentity(ctx, i)
}
func (m *memIdentities) GetIdentity(_ context.Context, id uuid.UUID, _ bool) (*identity.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := m.ids[id]; ok {
		c := *i
		return &c, nil
	}
	return nil, store.ErrNotFound
}
func (m *memIdentities) ListIdentities(context.Context, int, int) ([]*identity.Identity, int, error) {
	return nil, 0, errors.New("not used")
}
func (m *memIdentities) DeleteIdentity(context.Context, uuid.UUID) error {
	return errors.New("not used")
}

type memSessions struct {
	mu       sync.Mutex
	byHash   map[string]*session.Session
	identity *memIdentities
}

func (m *memSessions) CreateSession(_ context.Context, s *session.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *s
	m.byHash[s.TokenHash] = &c
	return nil
}
func (m *memSessions) SessionByTokenHash(ctx context.Context, h string) (*session.Session, error) {
	m.mu.Lock()
	s, ok := m.byHash[h]
	m.mu.Unlock()
	if !ok {
		return nil, store.ErrNotFound
	}
	c := *s
	i, err := m.identity.GetIdentity(ctx, s.IdentityID, false)
	if err != nil {
		return nil, err
	}
	c.Identity = i
	return &c, nil
}
func (m *memSessions) UpdateSession(_ context.Context, s *session.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// As the SQL store: only an active session is updated, under its new
	// token hash when the token was rotated.
	for h, old := range m.byHash {
		if old.ID == s.ID && old.Active {
			c := *s
			if c.TokenHash == "" {
				c.TokenHash = h
			}
			delete(m.byHash, h)
			m.byHash[c.TokenHash] = &c
			return nil
		}
	}
	return store.ErrNotFound
}
func (m *memSessions) TouchSession(_ context.Context, id, _ uuid.UUID, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, old := range m.byHash {
		if old.ID == id && old.Active {
			c := *old
			c.LastSeenAt = at
			m.byHash[h] = &c
			return nil
		}
	}
	return store.ErrNotFound
}
func (m *memSessions) ListSessions(context.Context, uuid.UUID, session.ListFilter, int, int) ([]*session.Session, error) {
	return nil, nil
}
func (m *memSessions) RevokeSession(context.Context, uuid.UUID, uuid.UUID) error { return nil }
func (m *memSessions) RevokeSessionsExcept(context.Context, uuid.UUID, uuid.UUID) (int, error) {
	return 0, nil
}
func (m *memSessions) RevokeSessionByTokenHash(context.Context, string) (bool, error) {
	return false, nil
}
func (m *memSessions) DeleteSessionsOfIdentity(context.Context, uuid.UUID) (int, error) {
	return 0, nil
}

// ---- fake methods ----------------------------------------------------------

// oneStep signs in the identity whose id is submitted as "identifier".
type oneStep struct{ ids *memIdentities }

func (oneStep) ID() string { return "onestep" }
func (oneStep) PopulateLogin(_ *http.Request, f *flow.Flow, _ *session.Session) error {
	f.UI.Upsert(ui.NewInput("identifier", "", ui.GroupDefault, ui.InputText, ui.Required()))
	f.UI.Upsert(ui.NewInput("method", "onestep", "onestep", ui.InputSubmit))
	return nil
}
func (m oneStep) Login(ctx context.Context, _ *http.Request, _ *flow.Flow, b *flow.Body, _ *session.Session) (*flow.Result, error) {
	if b.String("identifier") == "throttled" {
		fe := flow.NewFormError("", ui.ErrInvalidCredentials())
		fe.RetryAfter = 90 * time.Second
		return nil, fe
	}
	id, err := uuid.Parse(b.String("identifier"))
	if err != nil {
		return nil, flow.NewFormError("identifier", ui.ErrInvalidCredentials())
	}
	i, err := m.ids.GetIdentity(ctx, id, false)
	if err != nil {
		return nil, flow.NewFormError("", ui.ErrInvalidCredentials())
	}
	return flow.Done(i, identity.AAL1), nil
}

// twoStep first asks for a code (continue), then signs in when the code
// matches the one it kept in the flow.
type twoStep struct{ ids *memIdentities }

func (twoStep) ID() string { return "twostep" }
func (twoStep) PopulateLogin(_ *http.Request, f *flow.Flow, _ *session.Session) error {
	f.UI.Upsert(ui.NewInput("method", "twostep", "twostep", ui.InputSubmit))
	return nil
}
func (twoStep) SecretInputs() []string { return []string{"twostep_code"} }
func (m twoStep) Login(ctx context.Context, _ *http.Request, f *flow.Flow, b *flow.Body, _ *session.Session) (*flow.Result, error) {
	var st struct {
		Identity uuid.UUID
		Code     string
	}
	if ok, _ := f.GetInternal("twostep", &st); !ok {
		id, err := uuid.Parse(b.String("identifier"))
		if err != nil {
			return nil, flow.NewFormError("identifier", ui.ErrInvalidCredentials())
		}
		st.Identity, st.Code = id, "4242"
		if err := f.SetInternal("twostep", st); err != nil {
			return nil, err
		}
		f.UI.Upsert(ui.NewInput("twostep_code", "", "twostep", ui.InputText, ui.Required()))
		return flow.Continue(), nil
	}
	if b.String("twostep_code") != st.Code {
		return nil, flow.NewFormError("twostep_code", ui.ErrInvalidCredentials())
	}
	i, err := m.ids.GetIdentity(ctx, st.Identity, false)
	if err != nil {
		return nil, err
	}
	return flow.Done(i, identity.AAL1), nil
}

// elsewhere sends the browser to a provider and finishes on its callback.
type elsewhere struct {
	ids      *memIdentities
	provider string
}

func (elsewhere) ID() string { return "elsewhere" }
func (elsewhere) PopulateLogin(_ *http.Request, f *flow.Flow, _ *session.Session) error {
	f.UI.Upsert(ui.NewInput("method", "elsewhere", "elsewhere", ui.InputSubmit))
	return nil
}
func (m elsewhere) Login(_ context.Context, _ *http.Request, f *flow.Flow, b *flow.Body, _ *session.Session) (*flow.Result, error) {
	return flow.Redirect(m.provider + "?state=" + f.ID.String() + "&who=" + url.QueryEscape(b.String("identifier"))), nil
}

// ClaimsSubmission: like a social sign-in button, the form sends only
// provider=<name>, no method.
func (elsewhere) ClaimsSubmission(b *flow.Body) bool { return b.String("provider") != "" }

func (elsewhere) CallbackRoutes() []string {
	return []string{"GET /self-service/methods/elsewhere/callback"}
}
func (elsewhere) CallbackFlow(r *http.Request) (uuid.UUID, error) {
	return uuid.Parse(r.URL.Query().Get("state"))
}
func (m elsewhere) Callback(ctx context.Context, _ http.ResponseWriter, r *http.Request, _ *flow.Flow, _ *flow.SettingsRequest) (*flow.Result, error) {
	if r.URL.Query().Get("error") != "" {
		return nil, flow.NewFormError("", ui.ErrValidation("The provider refused."))
	}
	id, err := uuid.Parse(r.URL.Query().Get("who"))
	if err != nil {
		return nil, flow.NewFormError("", ui.ErrInvalidCredentials())
	}
	i, err := m.ids.GetIdentity(ctx, id, false)
	if err != nil {
		return nil, err
	}
	return flow.Done(i, identity.AAL1), nil
}

// ---- the engine under test -------------------------------------------------

type harness struct {
	srv    *httptest.Server
	clock  *time.Time
	ids    *memIdentities
	flows  *memRecords
	alice  *identity.Identity
	public string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
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
	h.ids = &memIdentities{ids: map[uuid.UUID]*identity.Identity{}}
	h.flows = &memRecords{flows: map[uuid.UUID]store.FlowRecord{}, errors: map[uuid.UUID]store.ErrorRecord{}}
	idsvc := identity.NewService(h.ids, reg, public)
	sessions := session.NewManager(&memSessions{byHash: map[string]*session.Session{}, identity: h.ids},
		[]string{"a-secret-of-at-least-16-chars"}, session.Config{Lifespan: time.Hour, Cookie: session.CookieConfig{Name: "ory_kratos_session", Path: "/"}}, idsvc.Expose)
	h.alice = &identity.Identity{ID: uuid.New(), SchemaID: "default", State: identity.StateActive, Traits: json.RawMessage(`{"email":"alice@example.org"}`)}
	_ = h.ids.CreateIdentity(context.Background(), h.alice)

	cfg := flow.Config{
		PublicURL:         public,
		DefaultReturnURL:  h.public + "/home",
		AllowedReturnURLs: []string{h.public + "/allowed"},
		Kinds: map[flow.Kind]flow.KindConfig{
			flow.Login:        {UIURL: h.public + "/ui/login", Lifespan: 10 * time.Minute, Enabled: true},
			flow.Registration: {UIURL: h.public + "/ui/registration", Lifespan: 10 * time.Minute, Enabled: true},
		},
		ErrorUIURL:      h.public + "/ui/error",
		AfterHooks:      func(string, string) []config.Hook { return nil },
		ReturnTo:        func(string, string) string { return h.public + "/home" },
		MethodReturnURL: func(string, string) string { return "" },
		AfterReturnURL:  func(string) string { return "" },
	}
	e := flow.NewEngine(flow.Deps{
		Config: cfg, Store: flow.StoreOver(h.flows), Sessions: sessions, Identities: idsvc,
		CSRF:    csrf.New(public.String(), csrf.CookieSettings{Path: "/", SameSite: http.SameSiteLaxMode}),
		Logger:  testLogger(t),
		Methods: []flow.Method{oneStep{h.ids}, twoStep{h.ids}, elsewhere{h.ids, h.public + "/provider"}, social{h.public + "/social-provider"}},
		Clock:   func() time.Time { return *h.clock },
	})
	mux.HandleFunc("GET /self-service/login/browser", e.InitLogin(flow.TypeBrowser))
	mux.HandleFunc("GET /self-service/login/api", e.InitLogin(flow.TypeAPI))
	mux.HandleFunc("GET /self-service/login/flows", e.Fetch(flow.Login))
	mux.HandleFunc("POST /self-service/login", e.SubmitLogin)
	for _, rt := range e.CallbackRoutes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	return h
}

// client is a cookie-keeping client that shows redirects.
func (h *harness) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (h *harness) do(t *testing.T, c *http.Client, method, path string, body any, headers ...string) answer {
	t.Helper()
	var rd io.Reader
	contentType := "application/json"
	if form, ok := body.(url.Values); ok {
		rd, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	} else if body != nil {
		raw, _ := json.Marshal(body)
		rd = strings.NewReader(string(raw))
	}
	target := path
	if !strings.HasPrefix(path, "http") {
		target = h.public + path
	}
	req, _ := http.NewRequest(method, target, rd)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	for k := 0; k+1 < len(headers); k += 2 {
		req.Header.Set(headers[k], headers[k+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) flowID(t *testing.T) string {
	t.Helper()
	id, _ := a.body["id"].(string)
	if id == "" {
		t.Fatalf("no flow in the answer: %d %v", a.status, a.body)
	}
	return id
}

func errorID(a answer) string {
	e, _ := a.body["error"].(map[string]any)
	id, _ := e["id"].(string)
	return id
}

func nodeNames(a answer) []string {
	var out []string
	u, _ := a.body["ui"].(map[string]any)
	nodes, _ := u["nodes"].([]any)
	for _, n := range nodes {
		attrs, _ := n.(map[string]any)["attributes"].(map[string]any)
		name, _ := attrs["name"].(string)
		out = append(out, name)
	}
	return out
}

func TestEngineOneStepAPILogin(t *testing.T) {
	h := newHarness(t)
	c := h.client(t)
	f := h.do(t, c, "GET", "/self-service/login/api", nil)
	if f.status != 200 {
		t.Fatalf("init %d", f.status)
	}
	a := h.do(t, c, "POST", "/self-service/login?flow="+f.flowID(t), map[string]any{"method": "onestep", "identifier": h.alice.ID.String()})
	if a.status != 200 || a.body["session_token"] == nil {
		t.Fatalf("login %d %v", a.status, a.body)
	}
	sess := a.body["session"].(map[string]any)
	if sess["authenticator_assurance_level"] != "aal1" {
		t.Errorf("aal %v", sess["authenticator_assurance_level"])
	}
	methods := sess["authentication_methods"].([]any)
	if m := methods[0].(map[string]any); m["method"] != "onestep" || m["aal"] != "aal1" {
		t.Errorf("authentication_methods %v", methods)
	}

	// A wrong identifier is a form error: 400 with the flow and the message
	// on the node.
	f = h.do(t, c, "GET", "/self-service/login/api", nil)
	a = h.do(t, c, "POST", "/self-service/login?flow="+f.flowID(t), map[string]any{"method": "onestep", "identifier": "nobody"})
	if a.status != 400 || a.flowID(t) != f.flowID(t) {
		t.Fatalf("bad identifier %d %v", a.status, a.body)
	}
	if a.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After %q on a form error that asks for no wait", a.header.Get("Retry-After"))
	}
	// A throttled attempt is a form error that tells the client how long to
	// wait.
	a = h.do(t, c, "POST", "/self-service/login?flow="+f.flowID(t), map[string]any{"method": "onestep", "identifier": "throttled"})
	if a.status != 400 || a.header.Get("Retry-After") != "90" {
		t.Fatalf("throttled %d, Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	// An unknown method gets the no-strategy message.
	a = h.do(t, c, "POST", "/self-service/login?flow="+f.flowID(t), map[string]any{"method": "carrier-pigeon"})
	msgs, _ := a.body["ui"].(map[string]any)["messages"].([]any)
	if a.status != 400 || len(msgs) != 1 || msgs[0].(map[string]any)["id"].(float64) != 4010002 {
		t.Errorf("unknown method %d %v", a.status, a.body["ui"])
	}
}

func TestEngineExpiryFollowsTheInjectedClock(t *testing.T) {
	h := newHarness(t)
	c := h.client(t)
	f := h.do(t, c, "GET", "/self-service/login/api", nil)
	id := f.flowID(t)
	*h.clock = h.clock.Add(9 * time.Minute)
	if a := h.do(t, c, "GET", "/self-service/login/flows?id="+id, nil); a.status != 200 {
		t.Fatalf("fetch before expiry %d", a.status)
	}
	*h.clock = h.clock.Add(2 * time.Minute)
	if a := h.do(t, c, "GET", "/self-service/login/flows?id="+id, nil); a.status != 410 || errorID(a) != "self_service_flow_expired" {
		t.Errorf("fetch after expiry %d %v", a.status, a.body)
	}
	a := h.do(t, c, "POST", "/self-service/login?flow="+id, map[string]any{"method": "onestep", "identifier": h.alice.ID.String()})
	if a.status != 410 || a.body["use_flow_id"] == nil || a.body["use_flow_id"] == id {
		t.Fatalf("submit after expiry %d %v", a.status, a.body)
	}
	// The replacement carries the expired message and works.
	next := a.body["use_flow_id"].(string)
	a = h.do(t, c, "POST", "/self-service/login?flow="+next, map[string]any{"method": "onestep", "identifier": h.alice.ID.String()})
	if a.status != 200 {
		t.Errorf("replacement %d %v", a.status, a.body)
	}
}

func TestEngineCSRFOnBrowserFlows(t *testing.T) {
	h := newHarness(t)
	browser := h.client(t)
	init := h.do(t, browser, "GET", "/self-service/login/browser", nil, "Accept", "application/json")
	id := init.flowID(t)
	// Another client (no anti-CSRF cookie) cannot fetch or submit it.
	stranger := h.client(t)
	if a := h.do(t, stranger, "GET", "/self-service/login/flows?id="+id, nil); a.status != 403 || errorID(a) != "security_csrf_violation" {
		t.Errorf("fetch without the cookie %d %v", a.status, a.body)
	}
	a := h.do(t, stranger, "POST", "/self-service/login?flow="+id, map[string]any{"method": "onestep", "identifier": h.alice.ID.String(), "csrf_token": "x"}, "Accept", "application/json")
	if a.status != 403 || errorID(a) != "security_csrf_violation" {
		t.Errorf("submit without the cookie %d %v", a.status, a.body)
	}
	// The browser itself, with the form's token, signs in.
	token := ""
	for _, n := range init.body["ui"].(map[string]any)["nodes"].([]any) {
		attrs := n.(map[string]any)["attributes"].(map[string]any)
		if attrs["name"] == "csrf_token" {
			token, _ = attrs["value"].(string)
		}
	}
	a = h.do(t, browser, "POST", "/self-service/login?flow="+id, map[string]any{"method": "onestep", "identifier": h.alice.ID.String(), "csrf_token": token}, "Accept", "application/json")
	if a.status != 200 || a.body["session"] == nil || a.body["session_token"] != nil {
		t.Errorf("browser login %d %v", a.status, a.body)
	}
}

func TestEngineReturnTo(t *testing.T) {
	h := newHarness(t)
	c := h.client(t)
	a := h.do(t, c, "GET", "/self-service/login/browser?return_to="+url.QueryEscape("https://evil.example/"), nil)
	if a.status != 303 || !strings.HasPrefix(a.header.Get("Location"), h.public+"/ui/error?id=") {
		t.Errorf("forbidden return_to: %d %s", a.status, a.header.Get("Location"))
	}
	a = h.do(t, c, "GET", "/self-service/login/browser?return_to="+url.QueryEscape("https://evil.example/"), nil, "Accept", "application/json")
	if a.status != 400 || errorID(a) != "self_service_flow_return_to_forbidden" {
		t.Errorf("forbidden return_to (JSON): %d %v", a.status, a.body)
	}
	// An allowed one is where the browser goes after signing in, through
	// a redirect-result method and its callback.
	a = h.do(t, c, "GET", "/self-service/login/browser?return_to="+url.QueryEscape(h.public+"/allowed/page"), nil)
	loc, _ := url.Parse(a.header.Get("Location"))
	id := loc.Query().Get("flow")
	token := csrfToken(t, h.do(t, c, "GET", "/self-service/login/flows?id="+id, nil))
	a = h.do(t, c, "POST", "/self-service/login?flow="+id, url.Values{"provider": {"some"}, "identifier": {h.alice.ID.String()}, "csrf_token": {token}})
	if a.status != 303 {
		t.Fatalf("redirect result %d %v", a.status, a.body)
	}
	provider, _ := url.Parse(a.header.Get("Location"))
	a = h.do(t, c, "GET", "/self-service/methods/elsewhere/callback?"+provider.RawQuery, nil)
	if a.status != 303 || a.header.Get("Location") != h.public+"/allowed/page" {
		t.Errorf("after the callback: %d %s %v", a.status, a.header.Get("Location"), a.body)
	}
}

func csrfToken(t *testing.T, f answer) string {
	t.Helper()
	for _, n := range f.body["ui"].(map[string]any)["nodes"].([]any) {
		attrs := n.(map[string]any)["attributes"].(map[string]any)
		if attrs["name"] == "csrf_token" {
			return attrs["value"].(string)
		}
	}
	t.Fatalf("no csrf_token node in %v", f.body)
	return ""
}

func TestEngineContinueResult(t *testing.T) {
	h := newHarness(t)
	c := h.client(t)

	// API flow: the first step answers 200 with the changed flow.
	f := h.do(t, c, "GET", "/self-service/login/api", nil)
	id := f.flowID(t)
	a := h.do(t, c, "POST", "/self-service/login?flow="+id, map[string]any{"method": "twostep", "identifier": h.alice.ID.String()})
	if a.status != 200 || a.flowID(t) != id || !contains(nodeNames(a), "twostep_code") {
		t.Fatalf("first step %d %v", a.status, a.body)
	}
	// The step is stored: fetching shows it; a wrong code is a form error
	// that does not echo the code back; the right one signs in.
	if got := nodeNames(h.do(t, c, "GET", "/self-service/login/flows?id="+id, nil)); !contains(got, "twostep_code") {
		t.Errorf("stored flow nodes %v", got)
	}
	a = h.do(t, c, "POST", "/self-service/login?flow="+id, map[string]any{"method": "twostep", "twostep_code": "0000"})
	if a.status != 400 {
		t.Fatalf("wrong code %d %v", a.status, a.body)
	}
	for _, n := range a.body["ui"].(map[string]any)["nodes"].([]any) {
		attrs := n.(map[string]any)["attributes"].(map[string]any)
		if attrs["name"] == "twostep_code" && attrs["value"] == "0000" {
			t.Errorf("the secret input was echoed back: %v", attrs["value"])
		}
	}
	a = h.do(t, c, "POST", "/self-service/login?flow="+id, map[string]any{"method": "twostep", "twostep_code": "4242"})
	if a.status != 200 || a.body["session_token"] == nil {
		t.Fatalf("second step %d %v", a.status, a.body)
	}

	// Browser flow, JSON request: Kratos tells the client to move the
	// browser to the flow's UI (422); an HTML request is redirected there.
	br := h.client(t)
	init := h.do(t, br, "GET", "/self-service/login/browser", nil, "Accept", "application/json")
	bid := init.flowID(t)
	a = h.do(t, br, "POST", "/self-service/login?flow="+bid, map[string]any{"method": "twostep", "identifier": h.alice.ID.String(), "csrf_token": csrfToken(t, init)}, "Accept", "application/json")
	want := h.public + "/ui/login?flow=" + bid
	if a.status != 422 || errorID(a) != "browser_location_change_required" || a.body["redirect_browser_to"] != want {
		t.Errorf("browser JSON continue %d %v", a.status, a.body)
	}
}

func TestEngineRedirectResult(t *testing.T) {
	h := newHarness(t)
	br := h.client(t)
	init := h.do(t, br, "GET", "/self-service/login/browser", nil, "Accept", "application/json")
	id := init.flowID(t)
	a := h.do(t, br, "POST", "/self-service/login?flow="+id, map[string]any{"method": "elsewhere", "identifier": h.alice.ID.String(), "csrf_token": csrfToken(t, init)}, "Accept", "application/json")
	if a.status != 422 || errorID(a) != "browser_location_change_required" || !strings.HasPrefix(a.body["redirect_browser_to"].(string), h.public+"/provider?state="+id) {
		t.Fatalf("JSON redirect %d %v", a.status, a.body)
	}
	// The provider refuses: the callback shows the message on the flow.
	a = h.do(t, br, "GET", "/self-service/methods/elsewhere/callback?state="+id+"&error=access_denied", nil)
	if a.status != 303 || a.header.Get("Location") != h.public+"/ui/login?flow="+id {
		t.Fatalf("refused callback %d %s", a.status, a.header.Get("Location"))
	}
	// An unknown flow in the callback goes to the error UI.
	a = h.do(t, br, "GET", "/self-service/methods/elsewhere/callback?state="+uuid.NewString(), nil)
	if a.status != 303 || !strings.HasPrefix(a.header.Get("Location"), h.public+"/ui/error?id=") {
		t.Errorf("unknown flow %d %s", a.status, a.header.Get("Location"))
	}
	// The provider agrees: signed in, sent to the default return URL.
	a = h.do(t, br, "GET", "/self-service/methods/elsewhere/callback?state="+id+"&who="+h.alice.ID.String(), nil)
	if a.status != 303 || a.header.Get("Location") != h.public+"/home" {
		t.Fatalf("callback %d %s %v", a.status, a.header.Get("Location"), a.body)
	}
	found := false
	for _, ck := range a.header.Values("Set-Cookie") {
		found = found || strings.HasPrefix(ck, "ory_kratos_session=")
	}
	if !found {
		t.Error("no session cookie after the callback")
	}
	// The flow expired meanwhile: the callback answers with a new flow.
	init = h.do(t, br, "GET", "/self-service/login/browser?refresh=true", nil, "Accept", "application/json")
	*h.clock = h.clock.Add(time.Hour)
	a = h.do(t, br, "GET", "/self-service/methods/elsewhere/callback?state="+init.flowID(t)+"&who="+h.alice.ID.String(), nil)
	if a.status != 303 || !strings.HasPrefix(a.header.Get("Location"), h.public+"/ui/login?flow=") || strings.Contains(a.header.Get("Location"), init.flowID(t)) {
		t.Errorf("expired flow callback %d %s", a.status, a.header.Get("Location"))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
