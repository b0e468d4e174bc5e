package e2e_test

// Social sign-in with an OAuth2-only kind (github) end to end: a loopback
// server stands in for GitHub's authorization, token and user-info
// endpoints, in the shapes GitHub documents.

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/hoplite-id/hoplite/internal/method/oidc"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// fakeGitHub approves every authorization request at once.
func fakeGitHub(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "gh-client" || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		to, _ := url.Parse(q.Get("redirect_uri"))
		to.RawQuery = url.Values{"code": {"gh-code"}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, to.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		if id != "gh-client" || secret != "gh-secret" || r.FormValue("code") != "gh-code" || r.FormValue("code_verifier") == "" {
			http.Error(w, `{"error":"bad_verification_code"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"gh-token","token_type":"bearer","scope":"user:email"}`))
	})
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer gh-token" {
				http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			h(w, r)
		}
	}
	mux.HandleFunc("GET /user", auth(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"login":"octocat","id":583231,"avatar_url":"https://avatars.example/583231","html_url":"https://github.com/octocat","name":"The Octocat","blog":"https://github.blog","email":null}`))
	}))
	mux.HandleFunc("GET /user/emails", auth(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"email":"octocat@example.org","verified":true,"primary":true,"visibility":"public"}]`))
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestOIDCOAuth2Provider(t *testing.T) {
	gh := fakeGitHub(t)
	oidc.SetTestEndpoints("github", gh.URL)
	mapper := base64.StdEncoding.EncodeToString([]byte(`local c = std.extVar('claims'); {identity: {traits: {email: c.email, name: {first: c.nickname}}}}`))
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: `
selfservice:
  flows:
    registration:
      after:
        oidc:
          hooks:
            - hook: session
  methods:
    oidc:
      enabled: true
      config:
        providers:
          - id: github
            provider: github
            client_id: gh-client
            client_secret: gh-secret
            scope: [user:email]
            mapper_url: base64://` + mapper + `
`})
		br := ssNewBrowser(t, s)
		f := br.initFlow("registration", "")
		r := br.postForm(f.UI.Action, url.Values{"csrf_token": {f.csrf(t)}, "provider": {"github"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("submit: %s", r)
		}
		r = br.get(ssLocation(t, r).String()) // the fake GitHub approves at once
		if r.Status != http.StatusFound {
			t.Fatalf("authorize: %s", r)
		}
		r = br.get(ssLocation(t, r).String()) // the callback
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != oidcReturnURL {
			t.Fatalf("callback: %s", r)
		}
		id, traits := oidcIdentityOf(t, oidcWhoami(t, br))
		if traits["email"] != "octocat@example.org" || lcFirstName(traits) != "octocat" {
			t.Errorf("traits: %v", traits)
		}
		ar := do(t, http.MethodGet, adminURL(s, "identities/"+id+"?include_credential=oidc"), nil)
		i := decode[map[string]any](t, ar)
		oc, _ := i["credentials"].(map[string]any)["oidc"].(map[string]any)
		ids, _ := oc["identifiers"].([]any)
		if !slices.Equal(ids, []any{"github:583231"}) {
			t.Errorf("identifiers: %v", oc)
		}
		providers, _ := oc["config"].(map[string]any)["providers"].([]any)
		if len(providers) != 1 || providers[0].(map[string]any)["initial_access_token"] != "gh-token" {
			t.Errorf("providers: %v", providers)
		}
	})
}
