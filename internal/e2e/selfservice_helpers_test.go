package e2e_test

// Helpers of the self-service suites (selfservice_*_test.go): raw flow
// documents, SDK shortcuts for registering and signing in, and a cookie-
// keeping browser that never follows redirects.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// ssPassword passes the default policy and is unlike every test e-mail.
const ssPassword = "Correct-Horse-Battery-9"

// ssSessionHook makes registration issue a session.
const ssSessionHook = `
selfservice:
  flows:
    registration:
      after:
        password:
          hooks:
            - hook: session
`

// ssText is a ui text (message or label) as served.
type ssText struct {
	ID      int64          `json:"id"`
	Text    string         `json:"text"`
	Type    string         `json:"type"`
	Context map[string]any `json:"context"`
}

// ssNode is a ui node as served; attributes stay generic so tests see
// exactly which keys are present.
type ssNode struct {
	Type       string         `json:"type"`
	Group      string         `json:"group"`
	Attributes map[string]any `json:"attributes"`
	Messages   []ssText       `json:"messages"`
	Meta       struct {
		Label *ssText `json:"label"`
	} `json:"meta"`
}

// name is the input name or element id.
func (n *ssNode) name() string {
	if v, ok := n.Attributes["name"].(string); ok {
		return v
	}
	v, _ := n.Attributes["id"].(string)
	return v
}

// value returns the "value" attribute and whether it is present.
func (n *ssNode) value() (any, bool) {
	v, ok := n.Attributes["value"]
	return v, ok
}

// messageIDs lists the ids of the node's messages.
func (n *ssNode) messageIDs() []int64 { return ssIDs(n.Messages) }

func ssIDs(texts []ssText) []int64 {
	out := []int64{}
	for _, t := range texts {
		out = append(out, t.ID)
	}
	return out
}

// ssFlow is any flow document, plus its top-level keys for shape checks.
type ssFlow struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	ExpiresAt  time.Time `json:"expires_at"`
	IssuedAt   time.Time `json:"issued_at"`
	RequestURL string    `json:"request_url"`
	ReturnTo   string    `json:"return_to"`
	Active     string    `json:"active"`
	State      string    `json:"state"`
	UI         struct {
		Action   string   `json:"action"`
		Method   string   `json:"method"`
		Nodes    []ssNode `json:"nodes"`
		Messages []ssText `json:"messages"`
	} `json:"ui"`

	keys map[string]json.RawMessage
}

// ssDecodeFlow decodes a flow document, failing the test when it is not
// one.
func ssDecodeFlow(t testing.TB, body []byte) ssFlow {
	t.Helper()
	var f ssFlow
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatalf("not a flow: %v; body: %s", err, body)
	}
	if err := json.Unmarshal(body, &f.keys); err != nil {
		t.Fatal(err)
	}
	if f.ID == "" || f.UI.Action == "" {
		t.Fatalf("not a flow (no id or ui.action): %s", body)
	}
	return f
}

// has reports whether the flow document has a top-level key.
func (f *ssFlow) has(key string) bool {
	_, ok := f.keys[key]
	return ok
}

// node returns the first node with the given name, failing when absent.
func (f *ssFlow) node(t testing.TB, name string) *ssNode {
	t.Helper()
	for k := range f.UI.Nodes {
		if f.UI.Nodes[k].name() == name {
			return &f.UI.Nodes[k]
		}
	}
	t.Fatalf("flow has no node %q; nodes: %v", name, f.nodeNames())
	return nil
}

// nodeNames lists node names in order.
func (f *ssFlow) nodeNames() []string {
	out := []string{}
	for k := range f.UI.Nodes {
		out = append(out, f.UI.Nodes[k].name())
	}
	return out
}

// csrf returns the value of the csrf_token node.
func (f *ssFlow) csrf(t testing.TB) string {
	t.Helper()
	v, _ := f.node(t, "csrf_token").value()
	s, _ := v.(string)
	return s
}

// ssRequireMessage fails unless texts contain id.
func ssRequireMessage(t testing.TB, where string, texts []ssText, id int64) ssText {
	t.Helper()
	for _, m := range texts {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("%s: no message %d; got %v", where, id, ssIDs(texts))
	return ssText{}
}

// ssTokenSDK returns a public SDK client that sends a session token with
// every request (some SDK operations, like RevokeSession, have no token
// parameter).
func ssTokenSDK(s *testutil.Server, token string) *kratos.APIClient {
	c := kratos.NewConfiguration()
	c.Servers = kratos.ServerConfigurations{{URL: strings.TrimSuffix(s.PublicURL, "/")}}
	c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	c.AddDefaultHeader("X-Session-Token", token)
	return kratos.NewAPIClient(c)
}

// ssPasswordRegistration is the SDK body of a password registration.
func ssPasswordRegistration(password string, traits map[string]any) kratos.SubmitSelfServiceRegistrationFlowBody {
	b := kratos.NewSubmitSelfServiceRegistrationFlowWithPasswordMethodBody("password", password, traits)
	return kratos.SubmitSelfServiceRegistrationFlowWithPasswordMethodBodyAsSubmitSelfServiceRegistrationFlowBody(b)
}

// ssPasswordLogin is the SDK body of a password login.
func ssPasswordLogin(identifier, password string) kratos.SubmitSelfServiceLoginFlowBody {
	b := kratos.NewSubmitSelfServiceLoginFlowWithPasswordMethodBody(identifier, "password", password, "")
	return kratos.SubmitSelfServiceLoginFlowWithPasswordMethodBodyAsSubmitSelfServiceLoginFlowBody(b)
}

// ssRegister signs email up through an API flow and returns the answer
// (with a session only when the session hook is configured).
func ssRegister(t testing.TB, s *testutil.Server, email, password string) *kratos.SuccessfulSelfServiceRegistrationWithoutBrowser {
	t.Helper()
	ctx := context.Background()
	f, res, err := s.Public.V0alpha2Api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		t.Fatalf("registration init: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	out, res, err := s.Public.V0alpha2Api.SubmitSelfServiceRegistrationFlow(ctx).Flow(f.Id).
		SubmitSelfServiceRegistrationFlowBody(ssPasswordRegistration(password, map[string]any{"email": email})).Execute()
	if err != nil {
		t.Fatalf("registration of %s: %v (%d) %s", email, err, sdkStatus(res), sdkErrorBody(err))
	}
	return out
}

// ssLogin signs in through an API flow.
func ssLogin(t testing.TB, s *testutil.Server, identifier, password string) *kratos.SuccessfulSelfServiceLoginWithoutBrowser {
	t.Helper()
	ctx := context.Background()
	f, res, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		t.Fatalf("login init: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	out, res, err := s.Public.V0alpha2Api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).
		SubmitSelfServiceLoginFlowBody(ssPasswordLogin(identifier, password)).Execute()
	if err != nil {
		t.Fatalf("login of %s: %v (%d) %s", identifier, err, sdkStatus(res), sdkErrorBody(err))
	}
	if out.SessionToken == nil || *out.SessionToken == "" {
		t.Fatalf("login of %s: no session_token", identifier)
	}
	return out
}

// ssFlowURL is an absolute public URL of path (with query).
func ssFlowURL(s *testutil.Server, path string) string {
	return strings.TrimSuffix(s.PublicURL, "/") + path
}

// ssBrowser is a browser: it keeps cookies and shows every redirect to the
// test instead of following it.
type ssBrowser struct {
	t testing.TB
	s *testutil.Server
	c *http.Client
}

func ssNewBrowser(t testing.TB, s *testutil.Server) *ssBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &ssBrowser{t: t, s: s, c: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// browserAccept is what browsers send when navigating.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// do sends a request with the browser's cookies; without an explicit Accept
// header it sends a browser's.
func (b *ssBrowser) do(method, rawURL string, body io.Reader, headers ...string) response {
	b.t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", browserAccept)
	for k := 0; k+1 < len(headers); k += 2 {
		req.Header.Set(headers[k], headers[k+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

func (b *ssBrowser) get(rawURL string, headers ...string) response {
	b.t.Helper()
	return b.do(http.MethodGet, rawURL, nil, headers...)
}

// postForm submits an urlencoded form.
func (b *ssBrowser) postForm(rawURL string, v url.Values, headers ...string) response {
	b.t.Helper()
	return b.do(http.MethodPost, rawURL, strings.NewReader(v.Encode()),
		append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
}

// cookie returns the jar's cookie of that name for the public URL.
func (b *ssBrowser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.s.PublicURL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// cookieHeader is the Cookie header the browser would send to the public
// URL.
func (b *ssBrowser) cookieHeader() string {
	u, _ := url.Parse(b.s.PublicURL)
	var parts []string
	for _, c := range b.c.Jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// initFlow opens /self-service/<kind>/browser[?query], checks the 303 to
// the flow's UI and fetches the flow with the browser's cookies.
func (b *ssBrowser) initFlow(kind, query string) ssFlow {
	b.t.Helper()
	u := ssFlowURL(b.s, "/self-service/"+kind+"/browser")
	if query != "" {
		u += "?" + query
	}
	r := b.get(u)
	if r.Status != http.StatusSeeOther {
		b.t.Fatalf("init %s: status %d, want 303; body: %s", kind, r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	id := loc.Query().Get("flow")
	if id == "" {
		b.t.Fatalf("init %s: Location %q has no flow id", kind, loc)
	}
	return b.fetch(kind, id)
}

// fetch loads a flow with the browser's cookies.
func (b *ssBrowser) fetch(kind, id string) ssFlow {
	b.t.Helper()
	r := b.get(ssFlowURL(b.s, "/self-service/"+kind+"/flows?id="+id), "Accept", "application/json")
	if r.Status != http.StatusOK {
		b.t.Fatalf("fetch %s flow: %s", kind, r)
	}
	return ssDecodeFlow(b.t, r.Body)
}

// ssSetCookie finds the Set-Cookie of name in a response.
func ssSetCookie(r response, name string) *http.Cookie {
	res := http.Response{Header: r.Header}
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ssRawSetCookie returns the raw Set-Cookie header line of name.
func ssRawSetCookie(r response, name string) string {
	for _, line := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

// ssLocation parses the Location header.
func ssLocation(t testing.TB, r response) *url.URL {
	t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location header; status %d body %s", r.Status, r.Body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ssWithoutQuery strips query and fragment.
func ssWithoutQuery(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment = "", ""
	return c.String()
}

// ssEqualStrings compares two slices, reporting both on mismatch.
func ssEqualStrings(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}
