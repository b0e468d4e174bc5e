package e2e_test

// Helpers of the account lifecycle suites (lifecycle_*_test.go): a server
// with recovery and verification on and an SMTP test server behind its
// courier, a mailbox over that SMTP server, SDK shortcuts for the recovery
// and verification flows, and a recording web hook receiver.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"
	"go.yaml.in/yaml/v3"

	"github.com/hoplite-id/hoplite/internal/courier/smtptest"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// lcUI is the base of the self-service UI URLs of the lifecycle suites.
const lcUI = ssUI

// lcConfig turns recovery and verification on and names a UI for every
// flow. The courier's SMTP URI is added by lcStart.
const lcConfig = ssFlowUIs + `    recovery:
      enabled: true
      ui_url: http://127.0.0.1:4455/recovery
    verification:
      enabled: true
      ui_url: http://127.0.0.1:4455/verification
`

// lcMergeYAML merges YAML documents, later ones winning; maps are merged
// key by key, anything else is replaced.
func lcMergeYAML(t testing.TB, docs ...string) string {
	t.Helper()
	out := map[string]any{}
	for _, d := range docs {
		if strings.TrimSpace(d) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("test config: %v\n%s", err, d)
		}
		lcMergeMaps(out, m)
	}
	raw, err := yaml.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func lcMergeMaps(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				lcMergeMaps(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// lcEnv is a server whose courier delivers to an SMTP test server.
type lcEnv struct {
	s    *testutil.Server
	smtp *smtptest.Server
	box  *lcMailbox
}

// lcNoMailCooldown turns the per-address mail cooldown off: the lifecycle
// suites ask for several links to one address within a minute (the
// cooldown has its own test).
const lcNoMailCooldown = "security:\n  brute_force:\n    mail_cooldown: 0s\n"

// lcStart starts a server with lcConfig, extra config merged over it, and
// a running courier delivering to a plain (no STARTTLS) SMTP test server.
func lcStart(t *testing.T, b testutil.Backend, extra ...string) *lcEnv {
	t.Helper()
	mail := smtptest.Start(t, smtptest.Options{})
	smtpCfg := "courier:\n  smtp:\n    connection_uri: " + mail.URI("smtp", "", "", "disable_starttls=true") + "\n"
	docs := append([]string{lcConfig, lcNoMailCooldown, smtpCfg}, extra...)
	s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: lcMergeYAML(t, docs...)})
	lcWatchCourier(t, s)
	return &lcEnv{s: s, smtp: mail, box: &lcMailbox{srv: mail, taken: map[int]bool{}}}
}

// lcWatchCourier runs the courier's worker for the rest of the test,
// polling the queue often.
func lcWatchCourier(t *testing.T, s *testutil.Server) {
	t.Helper()
	s.App.Courier.PollInterval = 50 * time.Millisecond
	s.App.Courier.RetryDelay = -1
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.App.WatchCourier(ctx); err != nil {
		t.Fatalf("WatchCourier: %v", err)
	}
}

// lcMailbox hands out the mails an SMTP test server received, each once.
type lcMailbox struct {
	srv   *smtptest.Server
	mu    sync.Mutex
	taken map[int]bool
}

// lcMail is one received, parsed mail.
type lcMail struct {
	To      []string
	Parsed  *smtptest.Parsed
	Subject string
	Text    string
	HTML    string
	Raw     smtptest.Mail
}

// next waits for the next mail to addr not handed out yet.
func (m *lcMailbox) next(t testing.TB, addr string) lcMail {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m.mu.Lock()
		for k, ml := range m.srv.Mails() {
			if m.taken[k] || !lcMailTo(ml, addr) {
				continue
			}
			m.taken[k] = true
			m.mu.Unlock()
			p, err := ml.Parse()
			if err != nil {
				t.Fatalf("mail to %s does not parse: %v\n%s", addr, err, ml.Data)
			}
			return lcMail{To: ml.To, Parsed: p, Subject: p.Subject, Text: p.Text, HTML: p.HTML, Raw: ml}
		}
		m.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no (further) mail to %s arrived; the SMTP server has %d mail(s)", addr, len(m.srv.Mails()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// none fails if a mail to addr not handed out yet arrives within wait.
func (m *lcMailbox) none(t testing.TB, addr string, wait time.Duration) {
	t.Helper()
	time.Sleep(wait)
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, ml := range m.srv.Mails() {
		if !m.taken[k] && lcMailTo(ml, addr) {
			p, _ := ml.Parse()
			subject := ""
			if p != nil {
				subject = p.Subject
			}
			t.Errorf("unexpected mail to %s: %q", addr, subject)
		}
	}
}

func lcMailTo(ml smtptest.Mail, addr string) bool {
	for _, to := range ml.To {
		if strings.EqualFold(to, addr) {
			return true
		}
	}
	return false
}

var lcLinkRE = regexp.MustCompile(`https?://[^\s"<>]+/self-service/(?:recovery|verification)\?[^\s"<>]+`)

// link returns the self-service link of the mail's plaintext body, checking
// that the HTML body carries the same link.
func (ml lcMail) link(t testing.TB) string {
	t.Helper()
	links := lcLinkRE.FindAllString(ml.Text, -1)
	if len(links) != 1 {
		t.Fatalf("mail %q: %d links in the text body, want 1:\n%s", ml.Subject, len(links), ml.Text)
	}
	if ml.HTML != "" && !strings.Contains(strings.ReplaceAll(ml.HTML, "&amp;", "&"), links[0]) {
		t.Errorf("mail %q: the HTML body lacks the link %s", ml.Subject, links[0])
	}
	return links[0]
}

// lcRecoveryLinkBody is the SDK body of a recovery email submission.
func lcRecoveryLinkBody(email, csrf string) kratos.SubmitSelfServiceRecoveryFlowBody {
	b := kratos.NewSubmitSelfServiceRecoveryFlowWithLinkMethodBody(email, "link")
	if csrf != "" {
		b.SetCsrfToken(csrf)
	}
	return kratos.SubmitSelfServiceRecoveryFlowWithLinkMethodBodyAsSubmitSelfServiceRecoveryFlowBody(b)
}

// lcVerificationLinkBody is the SDK body of a verification email
// submission.
func lcVerificationLinkBody(email, csrf string) kratos.SubmitSelfServiceVerificationFlowBody {
	b := kratos.NewSubmitSelfServiceVerificationFlowWithLinkMethodBody(email, "link")
	if csrf != "" {
		b.SetCsrfToken(csrf)
	}
	return kratos.SubmitSelfServiceVerificationFlowWithLinkMethodBodyAsSubmitSelfServiceVerificationFlowBody(b)
}

// lcRequestRecovery asks for a recovery link for email through an API
// recovery flow, failing the test unless the request is accepted, and
// returns the flow's id. The link arrives by mail.
func lcRequestRecovery(t testing.TB, s *testutil.Server, email string) string {
	t.Helper()
	ctx := context.Background()
	api := s.Public.V0alpha2Api
	f, res, err := api.InitializeSelfServiceRecoveryFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		t.Fatalf("recovery init: %v (%d)", err, sdkStatus(res))
	}
	if _, res, err := api.SubmitSelfServiceRecoveryFlow(ctx).Flow(f.Id).
		SubmitSelfServiceRecoveryFlowBody(lcRecoveryLinkBody(email, "")).Execute(); err != nil {
		t.Fatalf("recovery submit: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	return f.Id
}

// lcRequestVerification asks for a verification link for email through an
// API verification flow, like lcRequestRecovery.
func lcRequestVerification(t testing.TB, s *testutil.Server, email string) string {
	t.Helper()
	ctx := context.Background()
	api := s.Public.V0alpha2Api
	f, res, err := api.InitializeSelfServiceVerificationFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		t.Fatalf("verification init: %v (%d)", err, sdkStatus(res))
	}
	if _, res, err := api.SubmitSelfServiceVerificationFlow(ctx).Flow(f.Id).
		SubmitSelfServiceVerificationFlowBody(lcVerificationLinkBody(email, "")).Execute(); err != nil {
		t.Fatalf("verification submit: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	return f.Id
}

// lcProfileBody is the SDK body of a profile settings submission.
func lcProfileBody(traits map[string]any) kratos.SubmitSelfServiceSettingsFlowBody {
	return kratos.SubmitSelfServiceSettingsFlowWithProfileMethodBodyAsSubmitSelfServiceSettingsFlowBody(
		kratos.NewSubmitSelfServiceSettingsFlowWithProfileMethodBody("profile", traits))
}

// lcIdentity reads an identity over the admin API.
func lcIdentity(t testing.TB, s *testutil.Server, id string) identityJSON {
	t.Helper()
	r := do(t, http.MethodGet, adminURL(s, "identities/"+id), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("admin get identity %s: %s", id, r)
	}
	return decode[identityJSON](t, r)
}

// lcAddress is a verifiable address as served.
type lcAddress struct {
	ID         string     `json:"id"`
	Value      string     `json:"value"`
	Verified   bool       `json:"verified"`
	Via        string     `json:"via"`
	Status     string     `json:"status"`
	VerifiedAt *time.Time `json:"verified_at"`
}

// lcVerifiable returns the identity's verifiable address of value.
func lcVerifiable(t testing.TB, s *testutil.Server, identityID, value string) lcAddress {
	t.Helper()
	i := lcIdentity(t, s, identityID)
	var found []string
	for _, raw := range i.VerifiableAddresses {
		b, _ := json.Marshal(raw)
		var a lcAddress
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		if a.Value == value {
			return a
		}
		found = append(found, a.Value)
	}
	t.Fatalf("identity %s has no verifiable address %s (has %v)", identityID, value, found)
	return lcAddress{}
}

// lcBrowserLogin signs a browser in with a password (browser login flow,
// form post) and checks the session cookie.
func lcBrowserLogin(t testing.TB, br *ssBrowser, identifier, password string) {
	t.Helper()
	f := br.initFlow("login", "")
	r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", identifier, "password", password))
	if r.Status != http.StatusSeeOther || ssSetCookie(r, "ory_kratos_session") == nil {
		t.Fatalf("browser login of %s: status %d Location %q; body %s", identifier, r.Status, r.Header.Get("Location"), r.Body)
	}
}

// lcLoginFails checks that a password login is refused with 4000006.
func lcLoginFails(t testing.TB, s *testutil.Server, identifier, password string) {
	t.Helper()
	ctx := context.Background()
	f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		t.Fatal(err)
	}
	_, res, err := s.Public.V0alpha2Api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).
		SubmitSelfServiceLoginFlowBody(ssPasswordLogin(identifier, password)).Execute()
	if ids := sdkMessageIDs(ssLoginFlowModel(t, res, err).Ui.Messages); !containsID(ids, 4000006) {
		t.Errorf("login of %s with a wrong password: ui.messages %v, want 4000006", identifier, ids)
	}
}

// lcFlowIDFrom returns the flow query parameter of a redirect to the UI of
// kind, checking the UI URL.
func lcFlowIDFrom(t testing.TB, r response, kind string) string {
	t.Helper()
	if r.Status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to the %s UI; body %s", r.Status, kind, r.Body)
	}
	loc := ssLocation(t, r)
	if ssWithoutQuery(loc) != lcUI+kind {
		t.Fatalf("Location %s, want the %s UI", loc, kind)
	}
	id := loc.Query().Get("flow")
	if id == "" {
		t.Fatalf("Location %s has no flow id", loc)
	}
	return id
}

// lcFetchAny fetches a flow without cookies (API flows, or any flow over
// the JSON fetch endpoint with the browser's cookies when br is set).
func lcFetchAny(t testing.TB, s *testutil.Server, br *ssBrowser, kind, id string) ssFlow {
	t.Helper()
	if br != nil {
		return br.fetch(kind, id)
	}
	r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/flows?id="+id), nil, "Accept", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("fetch %s flow %s: %s", kind, id, r)
	}
	return ssDecodeFlow(t, r.Body)
}

// lcHookCall is one request a hook receiver got.
type lcHookCall struct {
	Method string
	Path   string
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// lcHookServer records web hook calls and answers with a settable status.
type lcHookServer struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []lcHookCall
	status map[string]int
}

func lcNewHookServer(t testing.TB) *lcHookServer {
	h := &lcHookServer{status: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		c := lcHookCall{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
		_ = json.Unmarshal(raw, &c.Body)
		h.mu.Lock()
		h.calls = append(h.calls, c)
		code := h.status[r.URL.Path]
		h.mu.Unlock()
		if code == 0 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(h.Close)
	return h
}

// fail makes the receiver answer requests to path with code.
func (h *lcHookServer) fail(path string, code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status[path] = code
}

// callsTo returns the calls received on path so far.
func (h *lcHookServer) callsTo(path string) []lcHookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []lcHookCall
	for _, c := range h.calls {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// waitCalls waits until path received at least n calls.
func (h *lcHookServer) waitCalls(t testing.TB, path string, n int) []lcHookCall {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c := h.callsTo(path); len(c) >= n {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("hook %s: %d call(s), want %d", path, len(h.callsTo(path)), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lcHookBody is the Jsonnet body template of the lifecycle hooks: it
// forwards what the hook context holds.
const lcHookBody = `function(ctx) {
  flow_id: ctx.flow.id,
  flow_type: ctx.flow.type,
  flow_ui_action: ctx.flow.ui.action,
  identity_id: if ctx.identity != null then ctx.identity.id else null,
  email: if ctx.identity != null then ctx.identity.traits.email else null,
  method: ctx.request_method,
  url: ctx.request_url,
  test_header: if std.objectHas(ctx.request_headers, 'X-Lifecycle-Test') then ctx.request_headers['X-Lifecycle-Test'][0] else null,
}`

// lcBase64 is a base64:// URI of a template.
func lcBase64(tmpl string) string {
	return "base64://" + base64.StdEncoding.EncodeToString([]byte(tmpl))
}

// lcWebHook is one web_hook entry of a hooks list, posting lcHookBody to
// url with the given auth ("", "api_key" or "basic_auth").
func lcWebHook(url string, ignore bool, auth string) map[string]any {
	cfg := map[string]any{"url": url, "method": "POST", "body": lcBase64(lcHookBody)}
	if ignore {
		cfg["response"] = map[string]any{"ignore": true}
	}
	switch auth {
	case "api_key":
		cfg["auth"] = map[string]any{"type": "api_key", "config": map[string]any{"name": "X-Hook-Key", "value": "hook-secret", "in": "header"}}
	case "basic_auth":
		cfg["auth"] = map[string]any{"type": "basic_auth", "config": map[string]any{"user": "hook-user", "password": "hook-pass"}}
	}
	return map[string]any{"hook": "web_hook", "config": cfg}
}

// lcHooksYAML builds selfservice.flows config from a path → hooks map, e.g.
// "login.after.password" → [hook, …].
func lcHooksYAML(t testing.TB, lists map[string][]map[string]any) string {
	t.Helper()
	flows := map[string]any{}
	for path, hooks := range lists {
		cur := flows
		parts := strings.Split(path, ".")
		for _, p := range parts {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		list := make([]any, 0, len(hooks))
		for _, h := range hooks {
			list = append(list, h)
		}
		cur["hooks"] = list
	}
	raw, err := yaml.Marshal(map[string]any{"selfservice": map[string]any{"flows": flows}})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// lcQuery returns a query parameter of a raw URL.
func lcQuery(t testing.TB, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}

// csrfCookieName is the name of the browser's anti-CSRF cookie.
func (b *ssBrowser) csrfCookieName() string {
	u, _ := url.Parse(b.s.PublicURL)
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "csrf_token_") {
			return c.Name
		}
	}
	b.t.Fatal("the browser has no anti-CSRF cookie")
	return ""
}
