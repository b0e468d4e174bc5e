package e2e_test

// A real browser registers a security key and signs in with it: headless
// Chromium with a virtual authenticator (CDP WebAuthn domain) runs the
// served /.well-known/ory/webauthn.js from the script node of a form
// rendered from the flow's nodes.

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestWebAuthnInChromium serves the UI and Hoplite's public API on one
// origin, http://localhost:<port> (a proxy in front of Hoplite), since
// browsers run WebAuthn only on secure contexts with a domain as the
// relying party id, and localhost is both.
func TestWebAuthnInChromium(t *testing.T) {
	chromium := btChromium(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	cfg := fmt.Sprintf(`
serve:
  public:
    base_url: %[1]s/
selfservice:
  default_browser_return_url: %[1]s/ui/welcome
  flows:
    error:
      ui_url: %[1]s/ui/error
    login:
      ui_url: %[1]s/ui/login
    settings:
      ui_url: %[1]s/ui/settings
    registration:
      ui_url: %[1]s/ui/registration
  methods:
    webauthn:
      enabled: true
      config:
        rp:
          id: localhost
          display_name: Hoplite Test
          origin: %[1]s
`, front)
	s := testutil.StartServer(t, testutil.Options{Config: lcMergeYAML(t, ssSessionHook, cfg)})
	email := "chromium-key@example.org"
	ssRegister(t, s, email, ssPassword)

	backend, _ := url.Parse(s.PublicURL)
	mux := http.NewServeMux()
	mux.Handle("/", httputil.NewSingleHostReverseProxy(backend))
	mux.HandleFunc("GET /ui/{kind}", func(w http.ResponseWriter, r *http.Request) { waPage(t, s, w, r) })
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	// localhost must reach the IPv4 loopback the proxy listens on.
	br := btOpenBrowser(t, chromium, chromedp.Flag("host-resolver-rules", "MAP localhost 127.0.0.1"))
	ctx, cancel := context.WithTimeout(br.ctx, btStepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &cdpwebauthn.VirtualAuthenticatorOptions{
		Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Transport: cdpwebauthn.AuthenticatorTransportUsb,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}}); err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}

	signInWithPassword := func() btPage {
		p := br.open(front + "/self-service/login/browser")
		if p.Page != "login" {
			t.Fatalf("login page: %s", p)
		}
		br.fill("form-password", "identifier", email)
		br.fill("form-password", "password", ssPassword)
		return br.submit("form-password", "method", "password")
	}
	if p := signInWithPassword(); p.Page != "welcome" {
		t.Fatalf("after the password: %s", p)
	}

	p := br.open(front + "/self-service/settings/browser")
	if p.Page != "settings" {
		t.Fatalf("settings page: %s", p)
	}
	br.fill("form-webauthn", "webauthn_register_displayname", "Chromium key")
	p = br.click(`form#form-webauthn button[name="webauthn_register_trigger"]`)
	if p.State != "success" || !slices.ContainsFunc(p.Buttons, func(b btButton) bool { return b.Name == "webauthn_remove" && strings.Contains(b.Text, "Chromium key") }) {
		t.Fatalf("after registering the key: %s; messages %+v; buttons %+v", p, p.Messages, p.Buttons)
	}

	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatalf("clearing cookies: %v", err)
	}
	p = signInWithPassword()
	if p.Page != "login" || !slices.ContainsFunc(p.Buttons, func(b btButton) bool { return b.Name == "webauthn_login_trigger" }) {
		t.Fatalf("after the password, the second factor should be asked for: %s; buttons %+v", p, p.Buttons)
	}
	p = br.click(`form#form-webauthn button[name="webauthn_login_trigger"]`)
	if p.Page != "welcome" {
		t.Fatalf("after the key: %s; messages %+v", p, p.Messages)
	}
	session := br.cookies(front)["ory_kratos_session"]
	if session == nil {
		t.Fatal("no session cookie")
	}
	r := do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "Cookie", "ory_kratos_session="+session.Value, "Accept", "application/json")
	var who struct {
		AAL     string `json:"authenticator_assurance_level"`
		Methods []struct {
			Method string `json:"method"`
		} `json:"authentication_methods"`
	}
	_ = json.Unmarshal(r.Body, &who)
	if r.Status != http.StatusOK || who.AAL != "aal2" || len(who.Methods) != 2 || who.Methods[1].Method != "webauthn" {
		t.Errorf("whoami after the key: %s", r)
	}
}

// waPage renders a login or settings flow as a plain HTML form per method
// group (with the default group's nodes in each), script nodes as script
// elements and button nodes with their onclick, as a reference UI does.
func waPage(t *testing.T, s *testutil.Server, w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	if kind == "welcome" {
		_, _ = w.Write([]byte(`<!doctype html><html><body data-page="welcome">welcome</body></html>`))
		return
	}
	id := r.URL.Query().Get("flow")
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/flows?id="+url.QueryEscape(id)), nil)
	req.Header.Set("Cookie", r.Header.Get("Cookie"))
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	var f ssFlow
	if err := json.NewDecoder(res.Body).Decode(&f); err != nil || res.StatusCode != http.StatusOK {
		http.Error(w, fmt.Sprintf("fetching the %s flow: %d %v", kind, res.StatusCode, err), http.StatusBadGateway)
		return
	}
	type nodeView struct {
		Name, InputType, Value, Label string
		Button                        bool
		OnClick                       template.JS
		Messages                      []ssText
	}
	type formView struct {
		ID, Action string
		Nodes      []nodeView
	}
	var scripts []map[string]any
	var groups []string
	for _, n := range f.UI.Nodes {
		if n.Type == "script" {
			scripts = append(scripts, n.Attributes)
		} else if n.Group != "default" && !slices.Contains(groups, n.Group) {
			groups = append(groups, n.Group)
		}
	}
	var forms []formView
	for _, g := range groups {
		form := formView{ID: "form-" + g, Action: f.UI.Action}
		for _, n := range f.UI.Nodes {
			if n.Type != "input" || (n.Group != g && n.Group != "default") {
				continue
			}
			v := nodeView{Name: n.name(), Messages: n.Messages}
			v.InputType, _ = n.Attributes["type"].(string)
			if val, ok := n.value(); ok {
				v.Value = fmt.Sprint(val)
			}
			if n.Meta.Label != nil {
				v.Label = n.Meta.Label.Text
			}
			v.Button = v.InputType == "submit" || v.InputType == "button"
			if js, ok := n.Attributes["onclick"].(string); ok {
				v.OnClick = template.JS(js)
			}
			form.Nodes = append(form.Nodes, v)
		}
		forms = append(forms, form)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := waPageTmpl.Execute(w, map[string]any{"Kind": kind, "Flow": f.ID, "State": f.State, "Messages": f.UI.Messages, "Scripts": scripts, "Forms": forms}); err != nil {
		t.Logf("template: %v", err)
	}
}

var waPageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Kind}}</title>
{{range .Scripts}}<script src="{{.src}}" integrity="{{.integrity}}" crossorigin="{{.crossorigin}}" referrerpolicy="{{.referrerpolicy}}" nonce="{{.nonce}}" async></script>
{{end}}</head>
<body data-page="{{.Kind}}" data-flow="{{.Flow}}" data-state="{{.State}}">
<ul>{{range .Messages}}<li data-message-id="{{.ID}}" data-message-type="{{.Type}}">{{.Text}}</li>{{end}}</ul>
{{range .Forms}}<form id="{{.ID}}" action="{{.Action}}" method="POST">
{{range .Nodes}}<div data-node-name="{{.Name}}">
{{- if .Button}}<button type="{{if eq .InputType "button"}}button{{else}}submit{{end}}" name="{{.Name}}" value="{{.Value}}"{{if .OnClick}} onclick="{{.OnClick}}"{{end}}>{{.Label}}</button>
{{- else}}<input name="{{.Name}}" type="{{.InputType}}" value="{{.Value}}">{{end}}
{{- range .Messages}}<span data-message-id="{{.ID}}" data-message-type="{{.Type}}">{{.Text}}</span>{{end}}</div>
{{end}}</form>
{{end}}</body></html>`))
