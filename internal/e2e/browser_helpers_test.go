package e2e_test

// Helpers of the real-browser suite (browser_test.go): a headless Chromium
// driven over the DevTools protocol, and a small self-service UI that uses
// Hoplite the way Kratos' reference UI does — server-side flow fetches with
// the official SDK, the browser's cookies forwarded, ui.nodes rendered as a
// plain HTML form.

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// Environment of the browser suite.
const (
	// btRequireBrowserEnv turns a missing Chromium from a skip into a
	// failure, so that CI cannot pass without having run the suite.
	btRequireBrowserEnv = "HOPLITE_TEST_REQUIRE_BROWSER"
	// btChromiumPath is where Debian's chromium package puts the browser.
	btChromiumPath = "/usr/bin/chromium"
)

// btChromium returns the Chromium binary, or skips the test (fails it when
// HOPLITE_TEST_REQUIRE_BROWSER is set) when there is none.
func btChromium(t *testing.T) string {
	t.Helper()
	path := btChromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, lerr := exec.LookPath("chromium"); lerr == nil {
			path = p
		} else {
			msg := fmt.Sprintf("no Chromium at %s (install it with `apt-get install -y chromium`)", btChromiumPath)
			if ok, _ := strconv.ParseBool(os.Getenv(btRequireBrowserEnv)); ok {
				t.Fatalf("%s, and %s is set", msg, btRequireBrowserEnv)
			}
			t.Skipf("%s; set %s=1 to make this a failure instead of a skip", msg, btRequireBrowserEnv)
		}
	}
	return path
}

// btEnv is a Hoplite server whose self-service UI is a btUI, with its
// courier delivering to an SMTP test server.
type btEnv struct {
	*lcEnv
	ui *btUI
}

// btStart starts the UI on a free port, Hoplite configured for that UI, and
// then the UI's handlers (which need Hoplite's URL). SQLite is enough: the
// suite tests what a browser sees, which the other suites already check
// per backend. extra config is merged over the suite's.
func btStart(t *testing.T, extra ...string) *btEnv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uiURL := "http://" + ln.Addr().String() + "/"
	cfg := fmt.Sprintf(`
selfservice:
  default_browser_return_url: %[1]swelcome
  allowed_return_urls:
    - %[1]s
  methods:
    password:
      enabled: true
    profile:
      enabled: true
    link:
      enabled: true
  flows:
    error:
      ui_url: %[1]serror
    login:
      ui_url: %[1]slogin
    registration:
      ui_url: %[1]sregistration
    settings:
      ui_url: %[1]ssettings
    recovery:
      enabled: true
      ui_url: %[1]srecovery
    verification:
      enabled: true
      ui_url: %[1]sverification
`, uiURL)
	// testutil servers run in dev mode, as `kratos serve --dev` does for a
	// UI on plain http: cookies without Secure.
	env := lcStart(t, testutil.Backend{Name: "sqlite", NewDSN: testutil.NewSQLiteDSN}, append([]string{cfg, ssSessionHook}, extra...)...)
	ui := &btUI{t: t, URL: uiURL, public: env.s.PublicURL, sdk: env.s.Public.V0alpha2Api}
	srv := httptest.NewUnstartedServer(ui.handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &btEnv{lcEnv: env, ui: ui}
}

// btUI is the self-service UI: /login, /registration, /settings,
// /recovery, /verification, /error and /welcome.
type btUI struct {
	t      *testing.T
	URL    string // with trailing slash
	public string // Hoplite's public URL, with trailing slash
	sdk    kratos.V0alpha2Api
}

func (u *btUI) handler() http.Handler {
	mux := http.NewServeMux()
	for _, kind := range []string{"login", "registration", "settings", "recovery", "verification"} {
		mux.HandleFunc("GET /"+kind, func(w http.ResponseWriter, r *http.Request) { u.flowPage(w, r, kind) })
	}
	mux.HandleFunc("GET /error", u.errorPage)
	mux.HandleFunc("GET /welcome", u.welcomePage)
	return mux
}

// initURL is Hoplite's browser init endpoint of kind, passing on the
// query parameters a UI forwards.
func (u *btUI) initURL(kind string, q url.Values) string {
	fwd := url.Values{}
	for _, k := range []string{"return_to", "refresh", "aal"} {
		if v := q.Get(k); v != "" {
			fwd.Set(k, v)
		}
	}
	out := u.public + "self-service/" + kind + "/browser"
	if len(fwd) > 0 {
		out += "?" + fwd.Encode()
	}
	return out
}

// btFlow is what the UI needs of any flow.
type btFlow struct {
	ID    string
	State string
	UI    kratos.UiContainer
}

// fetch reads a flow with the SDK, forwarding the browser's cookies as the
// reference UI does (Hoplite checks the anti-CSRF cookie on browser flows).
func (u *btUI) fetch(ctx context.Context, kind, id, cookie string) (btFlow, *http.Response, error) {
	switch kind {
	case "login":
		f, res, err := u.sdk.GetSelfServiceLoginFlow(ctx).Id(id).Cookie(cookie).Execute()
		if err != nil {
			return btFlow{}, res, err
		}
		return btFlow{ID: f.Id, UI: f.Ui}, res, nil
	case "registration":
		f, res, err := u.sdk.GetSelfServiceRegistrationFlow(ctx).Id(id).Cookie(cookie).Execute()
		if err != nil {
			return btFlow{}, res, err
		}
		return btFlow{ID: f.Id, UI: f.Ui}, res, nil
	case "settings":
		f, res, err := u.sdk.GetSelfServiceSettingsFlow(ctx).Id(id).Cookie(cookie).Execute()
		if err != nil {
			return btFlow{}, res, err
		}
		return btFlow{ID: f.Id, State: string(f.State), UI: f.Ui}, res, nil
	case "recovery":
		f, res, err := u.sdk.GetSelfServiceRecoveryFlow(ctx).Id(id).Cookie(cookie).Execute()
		if err != nil {
			return btFlow{}, res, err
		}
		return btFlow{ID: f.Id, State: string(f.State), UI: f.Ui}, res, nil
	case "verification":
		f, res, err := u.sdk.GetSelfServiceVerificationFlow(ctx).Id(id).Cookie(cookie).Execute()
		if err != nil {
			return btFlow{}, res, err
		}
		return btFlow{ID: f.Id, State: string(f.State), UI: f.Ui}, res, nil
	}
	return btFlow{}, nil, fmt.Errorf("unknown flow kind %q", kind)
}

func (u *btUI) flowPage(w http.ResponseWriter, r *http.Request, kind string) {
	id := r.URL.Query().Get("flow")
	if id == "" {
		http.Redirect(w, r, u.initURL(kind, r.URL.Query()), http.StatusSeeOther)
		return
	}
	f, res, err := u.fetch(r.Context(), kind, id, r.Header.Get("Cookie"))
	if err != nil {
		switch sdkStatus(res) {
		// A flow the browser may not see (any more) is started afresh, as
		// the reference UI does; settings without a session ends at login.
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
			http.Redirect(w, r, u.initURL(kind, r.URL.Query()), http.StatusSeeOther)
		default:
			u.fail(w, fmt.Sprintf("fetching the %s flow: %v (status %d) %s", kind, err, sdkStatus(res), sdkErrorBody(err)))
		}
		return
	}
	u.render(w, btFlowTmpl, btFlowPage(kind, f))
}

func (u *btUI) errorPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	se, res, err := u.sdk.GetSelfServiceError(r.Context()).Id(id).Execute()
	if err != nil {
		u.fail(w, fmt.Sprintf("getSelfServiceError %q: %v (status %d) %s", id, err, sdkStatus(res), sdkErrorBody(err)))
		return
	}
	raw, _ := json.MarshalIndent(se.Error, "", "  ")
	str := func(k string) string {
		if v, ok := se.Error[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	u.render(w, btErrorTmpl, map[string]any{
		"ID": se.Id, "ErrorID": str("id"), "Code": str("code"), "Status": str("status"),
		"Reason": str("reason"), "Message": str("message"), "Raw": string(raw),
	})
}

func (u *btUI) welcomePage(w http.ResponseWriter, r *http.Request) {
	cookie := r.Header.Get("Cookie")
	data := map[string]any{}
	sess, res, err := u.sdk.ToSession(r.Context()).Cookie(cookie).Execute()
	switch {
	case err == nil:
		traits, _ := sess.Identity.Traits.(map[string]any)
		data["Email"], _ = traits["email"].(string)
		data["IdentityID"] = sess.Identity.Id
		lo, res, err := u.sdk.CreateSelfServiceLogoutFlowUrlForBrowsers(r.Context()).Cookie(cookie).Execute()
		if err != nil {
			u.fail(w, fmt.Sprintf("createSelfServiceLogoutFlowUrlForBrowsers: %v (status %d) %s", err, sdkStatus(res), sdkErrorBody(err)))
			return
		}
		data["LogoutURL"] = lo.LogoutUrl
	case sdkStatus(res) == http.StatusUnauthorized:
	default:
		u.fail(w, fmt.Sprintf("toSession: %v (status %d) %s", err, sdkStatus(res), sdkErrorBody(err)))
		return
	}
	u.render(w, btWelcomeTmpl, data)
}

// fail shows what went wrong in the page, where the test's page assertions
// report it.
func (u *btUI) fail(w http.ResponseWriter, msg string) {
	u.t.Logf("UI: %s", msg)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadGateway)
	_ = btErrorTmpl.Execute(w, map[string]any{"UIFailure": msg})
}

func (u *btUI) render(w http.ResponseWriter, tmpl *template.Template, data any) {
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		u.fail(w, "template: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(b.String()))
}

// btNodeView is one ui node prepared for the template.
type btNodeView struct {
	Type, Group, Name string
	InputType         string
	Value             string
	HasValue          bool
	Checked           bool
	Required          bool
	Disabled          bool
	Pattern           string
	Label             string
	Button            bool
	Text              string
	TextID            int64
	Href              template.URL
	Src               template.URL
	Messages          []kratos.UiText
}

type btFormView struct {
	ID, Action, Method string
	Nodes              []btNodeView
}

// btFlowPage prepares a flow for the template: one form per method group,
// each with the group-less ("default") nodes such as csrf_token, as the
// reference UI splits settings, so that one method's required fields do
// not block another method's submission.
func btFlowPage(kind string, f btFlow) map[string]any {
	var groups []string
	for _, n := range f.UI.Nodes {
		if n.Group != "default" && !slices.Contains(groups, n.Group) {
			groups = append(groups, n.Group)
		}
	}
	if len(groups) == 0 {
		groups = []string{"default"}
	}
	var forms []btFormView
	for _, g := range groups {
		form := btFormView{ID: "form-" + g, Action: f.UI.Action, Method: f.UI.Method}
		for _, n := range f.UI.Nodes {
			v := btNode(n)
			// The social sign-in form takes only the hidden default nodes
			// (the anti-CSRF token): a required identifier would block its
			// buttons, as it would in the reference UI.
			if n.Group == g || (n.Group == "default" && (g != "oidc" || v.InputType == "hidden")) {
				form.Nodes = append(form.Nodes, v)
			}
		}
		forms = append(forms, form)
	}
	return map[string]any{"Kind": kind, "Flow": f.ID, "State": f.State, "Messages": f.UI.Messages, "Forms": forms}
}

func btNode(n kratos.UiNode) btNodeView {
	v := btNodeView{Type: n.Type, Group: n.Group, Messages: n.Messages}
	if n.Meta.Label != nil {
		v.Label = n.Meta.Label.Text
	}
	switch a := n.Attributes.GetActualInstance().(type) {
	case *kratos.UiNodeInputAttributes:
		v.Name, v.InputType, v.Disabled = a.Name, a.Type, a.Disabled
		v.Required = a.Required != nil && *a.Required
		if a.Pattern != nil {
			v.Pattern = *a.Pattern
		}
		if a.Value != nil {
			v.HasValue, v.Value = true, fmt.Sprint(a.Value)
		}
		if a.Type == "checkbox" {
			v.Checked, v.Value = v.Value == "true", "true"
		}
		v.Button = a.Type == "submit" || a.Type == "button"
	case *kratos.UiNodeTextAttributes:
		v.Name, v.Text, v.TextID = a.Id, a.Text.Text, a.Text.Id
	case *kratos.UiNodeAnchorAttributes:
		v.Name, v.Text, v.Href = a.Id, a.Title.Text, template.URL(a.Href)
	case *kratos.UiNodeImageAttributes:
		v.Name, v.Src = a.Id, template.URL(a.Src)
	case *kratos.UiNodeScriptAttributes:
		v.Name, v.Src = a.Id, template.URL(a.Src)
	}
	return v
}

var btFlowTmpl = template.Must(template.New("flow").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Kind}}</title></head>
<body data-page="{{.Kind}}" data-flow="{{.Flow}}" data-state="{{.State}}">
<h1>{{.Kind}}</h1>
{{if .State}}<p id="state">State: {{.State}}</p>{{end}}
<ul id="messages">{{range .Messages}}<li class="message" data-message-id="{{.Id}}" data-message-type="{{.Type}}">{{.Text}}</li>{{end}}</ul>
{{range .Forms}}<form id="{{.ID}}" action="{{.Action}}" method="{{.Method}}">
{{range .Nodes}}<div class="node" data-node-name="{{.Name}}" data-node-group="{{.Group}}" data-node-type="{{.Type}}">
{{- if .Button}}<button type="{{if eq .InputType "button"}}button{{else}}submit{{end}}" name="{{.Name}}" value="{{.Value}}"{{if .Disabled}} disabled{{end}}>{{.Label}}</button>
{{- else if eq .Type "input"}}<label>{{if ne .InputType "hidden"}}<span class="label">{{.Label}}</span> {{end}}<input name="{{.Name}}" type="{{.InputType}}"{{if .HasValue}} value="{{.Value}}"{{end}}{{if .Checked}} checked{{end}}{{if .Required}} required{{end}}{{if .Disabled}} disabled{{end}}{{if .Pattern}} pattern="{{.Pattern}}"{{end}}></label>
{{- else if eq .Type "text"}}<p class="text" id="{{.Name}}" data-text-id="{{.TextID}}">{{.Text}}</p>
{{- else if eq .Type "a"}}<a id="{{.Name}}" href="{{.Href}}">{{.Text}}</a>
{{- else if eq .Type "img"}}<img id="{{.Name}}" src="{{.Src}}" alt="{{.Label}}">
{{- end}}
{{- range .Messages}}<span class="message" data-message-id="{{.Id}}" data-message-type="{{.Type}}">{{.Text}}</span>{{end}}</div>
{{end}}</form>
{{end}}
</body></html>`))

var btErrorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>error</title></head>
<body data-page="error">
<h1>Error</h1>
{{if .UIFailure}}<p id="ui-failure">{{.UIFailure}}</p>{{else}}
<dl id="error" data-error-id="{{.ErrorID}}" data-error-code="{{.Code}}">
<dt>Id</dt><dd id="error-id">{{.ErrorID}}</dd>
<dt>Code</dt><dd id="error-code">{{.Code}}</dd>
<dt>Status</dt><dd id="error-status">{{.Status}}</dd>
<dt>Reason</dt><dd id="error-reason">{{.Reason}}</dd>
<dt>Message</dt><dd id="error-message">{{.Message}}</dd>
</dl>
<pre id="error-raw" data-container-id="{{.ID}}">{{.Raw}}</pre>{{end}}
</body></html>`))

var btWelcomeTmpl = template.Must(template.New("welcome").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>welcome</title></head>
<body data-page="welcome">
<h1>Welcome</h1>
{{if .IdentityID}}<p id="session" data-identity-id="{{.IdentityID}}">Signed in as <span id="session-email">{{.Email}}</span></p>
<p><a id="logout" href="{{.LogoutURL}}">Log out</a> <a id="settings" href="settings">Settings</a></p>
{{else}}<p id="no-session">no session</p>
<p><a id="login" href="login">Sign in</a> <a id="registration" href="registration">Sign up</a></p>{{end}}
</body></html>`))

// btBrowser is one tab of a headless Chromium.
type btBrowser struct {
	t   *testing.T
	ctx context.Context
}

// btStepTimeout bounds every browser step, so that a hung page fails the
// test quickly with a message instead of running into the test timeout.
const btStepTimeout = 20 * time.Second

// btOpenBrowser starts Chromium with a fresh profile (chromedp makes a new
// user-data-dir and removes it when the browser exits) and opens a tab.
// extra adds command-line options (a suite may need a host mapping).
func btOpenBrowser(t *testing.T, chromium string, extra ...chromedp.ExecAllocatorOption) *btBrowser {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		// Without these, Chromium keeps trying to reach Google's services,
		// and on a closed network it hangs on the refused connections.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1024, 768),
	}, extra...)...,
	)
	// The browser's goroutines may report an error while it shuts down;
	// logging to a finished test panics.
	var done atomic.Bool
	logf := func(format string, args ...any) {
		if !done.Load() {
			t.Logf("chromium: "+format, args...)
		}
	}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		done.Store(true)
		cancel()
		cancelAlloc()
	})
	b := &btBrowser{t: t, ctx: ctx}
	b.start("starting " + chromium)
	return b
}

// start opens the tab (and the browser, for the first tab). That first
// action must run on b.ctx itself, not on a context with a deadline: the
// tab lives as long as the context its first action ran on.
func (b *btBrowser) start(what string) {
	b.t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(b.ctx) }()
	select {
	case err := <-errc:
		if err != nil {
			b.t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(btStepTimeout):
		b.t.Fatalf("%s: no answer within %s", what, btStepTimeout)
	}
}

// with returns the same tab reporting failures to t (a subtest's).
func (b *btBrowser) with(t *testing.T) *btBrowser {
	return &btBrowser{t: t, ctx: b.ctx}
}

// incognito opens a tab in a new browser context: no cookies shared with
// the other tabs.
func (b *btBrowser) incognito() *btBrowser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	nb := &btBrowser{t: b.t, ctx: ctx}
	nb.start("opening a tab in a new browser context")
	return nb
}

func (b *btBrowser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, btStepTimeout)
}

// run runs browser actions, failing the test on errors.
func (b *btBrowser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// open navigates to rawURL, follows its redirects and returns the page it
// lands on.
func (b *btBrowser) open(rawURL string) btPage {
	b.t.Helper()
	return b.navigate("open "+rawURL, chromedp.Navigate(rawURL))
}

// btHop is one redirect the browser followed.
type btHop struct {
	URL      string
	Status   int64
	Location string
}

func (h btHop) String() string { return fmt.Sprintf("%d %s -> %s", h.Status, h.URL, h.Location) }

// navigate runs trigger, waits for the page the resulting navigation lands
// on, and returns it with the redirects the browser followed to get there.
// The events come in the order the browser sent them, so by the load event
// every redirect of the navigation was seen.
func (b *btBrowser) navigate(what string, trigger chromedp.Action[chromedp.Void]) btPage {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		mu     sync.Mutex
		hops   []btHop
		status int64
		loaded = make(chan struct{}, 1)
	)
	err := chromedp.Listen(lctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if e.Type == network.ResourceTypeDocument && e.RedirectResponse != nil {
				mu.Lock()
				hops = append(hops, btHop{URL: e.RedirectResponse.URL, Status: e.RedirectResponse.Status, Location: e.Request.URL})
				mu.Unlock()
			}
		case *network.EventResponseReceived:
			if e.Type == network.ResourceTypeDocument {
				mu.Lock()
				status = e.Response.Status
				mu.Unlock()
			}
		case *page.EventLoadEventFired:
			select {
			case loaded <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	if err := chromedp.Do(ctx, trigger); err != nil {
		b.t.Fatalf("browser: %s: %v; page: %s", what, err, b.page())
	}
	select {
	case <-loaded:
	case <-ctx.Done():
		b.t.Fatalf("browser: %s: no page loaded within %s; page: %s", what, btStepTimeout, b.page())
	}
	p := b.page()
	mu.Lock()
	p.Hops, p.Status = hops, status
	mu.Unlock()
	return p
}

// fill types value into the input name of form formID, replacing what the
// input held.
func (b *btBrowser) fill(formID, name, value string) {
	b.t.Helper()
	css := fmt.Sprintf(`form#%s input[name=%q]`, formID, name)
	quoted, _ := json.Marshal(css)
	// Cleared by script: chromedp's SetValue cannot set "" (the empty
	// argument is dropped and the input ends up holding "undefined").
	clear := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ""`, quoted))
	b.run(fmt.Sprintf("fill %s in %s", name, formID), chromedp.WaitVisible(chromedp.CSS(css)), clear, chromedp.SendKeys(chromedp.CSS(css), value))
}

// click clicks the element of a CSS selector and returns the page the
// resulting navigation (with all its redirects) ends on.
func (b *btBrowser) click(css string) btPage {
	b.t.Helper()
	return b.navigate("click "+css, chromedp.Click(chromedp.CSS(css)))
}

// submit clicks the button name=value of form formID.
func (b *btBrowser) submit(formID, name, value string) btPage {
	b.t.Helper()
	return b.click(fmt.Sprintf(`form#%s button[name=%q][value=%q]`, formID, name, value))
}

// eval runs JavaScript in the page.
func (b *btBrowser) eval(js string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("browser: eval %s: %v", js, err)
	}
	return out
}

// cookies returns the browser's cookies for rawURL, including HttpOnly
// ones that page scripts cannot see.
func (b *btBrowser) cookies(rawURL string) map[string]*network.Cookie {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{rawURL}})
	if err != nil {
		b.t.Fatalf("browser: cookies of %s: %v", rawURL, err)
	}
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// btMessage is a message as the page shows it.
type btMessage struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	Node string `json:"node"` // the node it belongs to; "" for ui.messages
	Text string `json:"text"`
}

type btInput struct {
	Form     string `json:"form"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Value    string `json:"value"`
	Required bool   `json:"required"`
	Disabled bool   `json:"disabled"`
}

type btButton struct {
	Form  string `json:"form"`
	Name  string `json:"name"`
	Value string `json:"value"`
	Text  string `json:"text"`
}

// btPage is what the browser shows: location, the UI's page markers, the
// visible text, messages, inputs and buttons.
type btPage struct {
	URL      string            `json:"url"`
	Page     string            `json:"page"`
	Flow     string            `json:"flow"`
	State    string            `json:"state"`
	Text     string            `json:"text"`
	Messages []btMessage       `json:"messages"`
	Inputs   []btInput         `json:"inputs"`
	Buttons  []btButton        `json:"buttons"`
	Data     map[string]string `json:"data"` // data-* of #session and #error

	// Of the navigation that led here (open and click only).
	Status int64   `json:"-"` // of the page's document
	Hops   []btHop `json:"-"`
}

// Form ids are read as attributes: a form holding an input named "id" (a
// provider's sign-in page) shadows its id property.
const btSnapshotJS = `(() => {
  const all = (s) => Array.from(document.querySelectorAll(s));
  const data = {};
  for (const id of ["session", "error", "error-raw"]) {
    const e = document.getElementById(id);
    if (e) for (const [k, v] of Object.entries(e.dataset)) data[id + "." + k] = v;
  }
  const logout = document.getElementById("logout");
  if (logout) data["logout.href"] = logout.href;
  const body = document.body || {dataset: {}, innerText: ""};
  return {
    url: location.href,
    page: body.dataset.page || "",
    flow: body.dataset.flow || "",
    state: body.dataset.state || "",
    text: body.innerText || "",
    messages: all("[data-message-id]").map((e) => {
      const n = e.closest("[data-node-name]");
      return {id: Number(e.dataset.messageId), type: e.dataset.messageType || "", node: n ? n.dataset.nodeName : "", text: e.textContent};
    }),
    inputs: all("input").map((e) => ({form: e.form ? (e.form.getAttribute("id") || "") : "", name: e.name, type: e.type, value: e.value, required: e.required, disabled: e.disabled})),
    buttons: all("button").map((e) => ({form: e.form ? (e.form.getAttribute("id") || "") : "", name: e.name, value: e.value, text: e.textContent})),
    data: data,
  };
})()`

// page reads what the browser shows now.
func (b *btBrowser) page() btPage {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	p, err := chromedp.Run(ctx, chromedp.Evaluate[btPage](btSnapshotJS))
	if err != nil {
		b.t.Fatalf("browser: reading the page: %v", err)
	}
	return p
}

func (p btPage) String() string {
	return fmt.Sprintf("%s (page %q, flow %q, state %q): %q", p.URL, p.Page, p.Flow, p.State, p.Text)
}

// path is the page's URL without query, relative to base.
func (p btPage) path(base string) string {
	u, err := url.Parse(p.URL)
	if err != nil {
		return p.URL
	}
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimPrefix(u.String(), strings.TrimSuffix(base, "/"))
}

// query returns a query parameter of the page's URL.
func (p btPage) query(key string) string {
	u, err := url.Parse(p.URL)
	if err != nil {
		return ""
	}
	return u.Query().Get(key)
}

// input returns the input name of form formID.
func (p btPage) input(formID, name string) (btInput, bool) {
	for _, in := range p.Inputs {
		if in.Form == formID && in.Name == name {
			return in, true
		}
	}
	return btInput{}, false
}

// hasButton reports whether form formID has the button name=value.
func (p btPage) hasButton(formID, name, value string) bool {
	for _, bt := range p.Buttons {
		if bt.Form == formID && bt.Name == name && bt.Value == value {
			return true
		}
	}
	return false
}

// messagesOf returns the ids of the messages shown on node ("" for the
// flow's ui.messages).
func (p btPage) messagesOf(node string) []int64 {
	out := []int64{}
	for _, m := range p.Messages {
		if m.Node == node {
			out = append(out, m.ID)
		}
	}
	return out
}

// message returns the first message of id shown on node.
func (p btPage) message(node string, id int64) (btMessage, bool) {
	for _, m := range p.Messages {
		if m.Node == node && m.ID == id {
			return m, true
		}
	}
	return btMessage{}, false
}

// statuses lists the redirect statuses of the navigation and the final
// document's status.
func (p btPage) statuses() []int64 {
	out := []int64{}
	for _, h := range p.Hops {
		out = append(out, h.Status)
	}
	return append(out, p.Status)
}

// btExpectStatuses fails unless the navigation that led to p went through
// redirects of the given statuses and ended with 200, the first redirect
// answered by Hoplite when fromHoplite is set.
func btExpectStatuses(t *testing.T, env *btEnv, p btPage, fromHoplite bool, redirects ...int64) {
	t.Helper()
	want := append(append([]int64{}, redirects...), http.StatusOK)
	if !slices.Equal(p.statuses(), want) {
		t.Errorf("the browser got statuses %v on its way to %s, want %v; redirects: %v", p.statuses(), p.URL, want, p.Hops)
		return
	}
	if fromHoplite && len(p.Hops) > 0 && !strings.HasPrefix(p.Hops[0].URL, env.s.PublicURL) {
		t.Errorf("the first redirect came from %s, want Hoplite at %s", p.Hops[0].URL, env.s.PublicURL)
	}
}

// btExpectPage fails unless the browser is on the UI page kind (path
// /kind), naming where it is instead.
func btExpectPage(t *testing.T, ui *btUI, p btPage, kind string) {
	t.Helper()
	if p.Page != kind || p.path(ui.URL) != "/"+kind {
		t.Fatalf("the browser is not on the %s page but on %s", kind, p)
	}
}

// csrfCookie returns the browser's anti-CSRF cookie for rawURL, or nil.
func (b *btBrowser) csrfCookie(rawURL string) *network.Cookie {
	b.t.Helper()
	for name, c := range b.cookies(rawURL) {
		if strings.HasPrefix(name, "csrf_token_") {
			return c
		}
	}
	return nil
}

// cookie returns the browser's cookie name for rawURL, or nil.
func (b *btBrowser) cookie(rawURL, name string) *network.Cookie {
	b.t.Helper()
	return b.cookies(rawURL)[name]
}
