package flow_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// social keeps its state in a cookie set through the result, moves POSTed
// callbacks to GET, and meets only unknown accounts that miss their email:
// the login goes on as a registration asking for it.
type social struct{ provider string }

func (social) ID() string { return "social" }
func (social) PopulateLogin(*http.Request, *flow.Flow, *session.Session) error {
	return nil
}
func (social) ClaimsSubmission(b *flow.Body) bool { return b.String("social") != "" }
func (m social) Login(_ context.Context, _ *http.Request, f *flow.Flow, _ *flow.Body, _ *session.Session) (*flow.Result, error) {
	res := flow.Redirect(m.provider)
	res.Cookies = []*http.Cookie{{Name: "social_state", Value: f.ID.String(), Path: "/", HttpOnly: true}}
	return res, nil
}
func (social) CallbackRoutes() []string {
	return []string{"GET /self-service/methods/social/callback", "POST /self-service/methods/social/callback"}
}
func (social) CallbackFlow(r *http.Request) (uuid.UUID, error) {
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		return uuid.Nil, &flow.CallbackRedirect{URL: "/self-service/methods/social/callback?" + r.PostForm.Encode()}
	}
	c, err := r.Cookie("social_state")
	if err != nil {
		return uuid.Nil, err
	}
	return uuid.Parse(c.Value)
}
func (social) Callback(context.Context, http.ResponseWriter, *http.Request, *flow.Flow, *flow.SettingsRequest) (*flow.Result, error) {
	i := &identity.Identity{ID: uuid.New(), SchemaID: "default", State: identity.StateActive, Traits: json.RawMessage(`{}`)}
	return &flow.Result{Identity: i, Register: true, Incomplete: func(f *flow.Flow) error {
		f.UI.Nodes = nil
		f.UI.Append(ui.NewInput("traits.email", nil, "social", ui.InputEmail))
		return flow.NewFormError("traits.email", ui.ErrMissingProperty("email"))
	}}, nil
}

func TestEngineSocialSignInContract(t *testing.T) {
	h := newHarness(t)
	br := h.client(t)
	init := h.do(t, br, "GET", "/self-service/login/browser", nil, "Accept", "application/json")
	login := init.flowID(t)

	// A submission naming no method is claimed by its field; the result's
	// cookie is set on the 422 that sends the browser to the provider.
	a := h.do(t, br, "POST", "/self-service/login?flow="+login, map[string]any{"social": "x", "csrf_token": csrfToken(t, init)}, "Accept", "application/json")
	if a.status != 422 || a.body["redirect_browser_to"] != h.public+"/social-provider" {
		t.Fatalf("submit %d %v", a.status, a.body)
	}
	if !strings.Contains(strings.Join(a.header.Values("Set-Cookie"), "\n"), "social_state="+login) {
		t.Errorf("the result's cookie was not set: %v", a.header.Values("Set-Cookie"))
	}

	// A form_post callback is moved to a GET first.
	a = h.do(t, br, "POST", "/self-service/methods/social/callback", url.Values{"code": {"c1"}})
	if a.status != http.StatusFound || a.header.Get("Location") != "/self-service/methods/social/callback?code=c1" {
		t.Fatalf("form_post callback %d %s", a.status, a.header.Get("Location"))
	}

	// The unknown account misses its email: a new registration flow asks
	// for it (302, Kratos' registration quirk).
	a = h.do(t, br, "GET", "/self-service/methods/social/callback?code=c1", nil)
	loc, _ := url.Parse(a.header.Get("Location"))
	if a.status != http.StatusFound || loc == nil || loc.Path != "/ui/registration" {
		t.Fatalf("callback %d %s", a.status, a.header.Get("Location"))
	}
	id, err := uuid.Parse(loc.Query().Get("flow"))
	if err != nil || id.String() == login {
		t.Fatalf("want a new registration flow, got %s", loc)
	}
	rec, err := h.flows.GetFlow(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Kind != "registration" || rec.Active != "social" || !strings.Contains(string(rec.UI), `"traits.email"`) || !strings.Contains(string(rec.UI), "4000002") || !strings.Contains(string(rec.UI), "csrf_token") {
		t.Errorf("registration flow: kind %s, active %s, ui %s", rec.Kind, rec.Active, rec.UI)
	}
}
