// Package testop runs a real OpenID provider on loopback for tests, built on
// the zitadel OP library and its in-memory storage: discovery, JWKS,
// authorization (with a username/password page driven over HTTP), token
// and userinfo endpoints, RS256 ID tokens, PKCE. It can also misbehave on
// purpose (tampered ID tokens, denied consent) to exercise the error paths
// of a relying party.
package testop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"
)

// User is an account at the provider.
type User struct {
	ID, Username, Password string
	Email                  string
	EmailVerified          bool
	GivenName, FamilyName  string
}

// Tamper modes: how the token endpoint spoils the ID token it issues.
const (
	TamperNone          = ""
	TamperBadSignature  = "bad-signature"
	TamperWrongAudience = "wrong-audience"
	TamperExpired       = "expired"
	TamperNonce         = "nonce"
)

// OP is an OpenID provider on loopback.
type OP struct {
	// Issuer is the provider's issuer URL (no trailing slash).
	Issuer string

	ln      net.Listener
	srv     *httptest.Server
	storage *storage.Storage
	clients map[string]*storage.Client

	mu     sync.Mutex
	tamper string
}

// New binds the provider to a loopback port; it serves once Start is
// called (after the relying party, whose callback URL it must know, runs).
func New(t testing.TB, users ...User) *OP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &OP{Issuer: "http://" + ln.Addr().String(), ln: ln, clients: map[string]*storage.Client{}}
	us := userStore{}
	for _, u := range users {
		u := u
		us[u.ID] = &storage.User{
			ID: u.ID, Username: u.Username, Password: u.Password, Email: u.Email, EmailVerified: u.EmailVerified,
			FirstName: u.GivenName, LastName: u.FamilyName, PreferredLanguage: language.English,
		}
	}
	o.storage = storage.NewStorageWithClients(us, o.clients)
	t.Cleanup(func() {
		if o.srv != nil {
			o.srv.Close()
		} else {
			ln.Close()
		}
	})
	return o
}

// Start registers a confidential web client and starts serving.
func (o *OP) Start(clientID, clientSecret string, redirectURIs ...string) {
	o.clients[clientID] = storage.WebClient(clientID, clientSecret, redirectURIs...)
	router := exampleop.SetupServer(o.Issuer, o.storage, nil, false)
	mux := http.NewServeMux()
	mux.HandleFunc("/deny", o.deny)
	mux.Handle("/", o.tamperTokens(router))
	o.srv = &httptest.Server{Listener: o.ln, Config: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	o.srv.Start()
}

// Stop makes the provider unreachable.
func (o *OP) Stop() { o.srv.Close() }

// SetTamper chooses how the next ID tokens are spoiled.
func (o *OP) SetTamper(mode string) {
	o.mu.Lock()
	o.tamper = mode
	o.mu.Unlock()
}

// LoginPath is the path of the provider's sign-in page.
const LoginPath = "/login/username"

// DenyURL is where a test sends the browser, instead of signing in, to
// refuse the authorization request shown on the sign-in page at loginURL:
// the provider answers the relying party with error=access_denied.
func (o *OP) DenyURL(loginURL string) string {
	u, _ := url.Parse(loginURL)
	return o.Issuer + "/deny?authRequestID=" + url.QueryEscape(u.Query().Get("authRequestID"))
}

func (o *OP) deny(w http.ResponseWriter, r *http.Request) {
	ar, err := o.storage.AuthRequestByID(r.Context(), r.URL.Query().Get("authRequestID"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	to, _ := url.Parse(ar.GetRedirectURI())
	q := to.Query()
	q.Set("error", "access_denied")
	q.Set("error_description", "The resource owner denied the request")
	q.Set("state", ar.GetState())
	to.RawQuery = q.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// tamperTokens spoils the ID token of token responses as SetTamper asks.
func (o *OP) tamperTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		mode := o.tamper
		o.mu.Unlock()
		if mode == TamperNone || r.URL.Path != "/oauth/token" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
			copyResponse(w, rec)
			return
		}
		if raw, ok := body["id_token"].(string); ok {
			spoiled, err := o.spoil(r.Context(), raw, mode)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			body["id_token"] = spoiled
		}
		out, _ := json.Marshal(body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(out)
	})
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// spoil re-signs the ID token raw after changing it as mode says.
func (o *OP) spoil(ctx context.Context, raw, mode string) (string, error) {
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	sk, err := o.storage.SigningKey(ctx)
	if err != nil {
		return "", err
	}
	key := sk.Key()
	switch mode {
	case TamperBadSignature:
		// Same key id, another key: the signature does not verify.
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		key = other
	case TamperWrongAudience:
		claims["aud"] = []string{"someone-else"}
		claims["azp"] = "someone-else"
	case TamperExpired:
		past := time.Now().Add(-2 * time.Hour)
		claims["iat"] = past.Add(-time.Hour).Unix()
		claims["exp"] = past.Unix()
	case TamperNonce:
		claims["nonce"] = "not-the-nonce-that-was-sent"
	}
	payload, err = json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", sk.ID()))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// userStore is the provider's accounts.
type userStore map[string]*storage.User

func (s userStore) GetUserByID(id string) *storage.User { return s[id] }

func (s userStore) GetUserByUsername(name string) *storage.User {
	for _, u := range s {
		if u.Username == name {
			return u
		}
	}
	return nil
}

func (s userStore) ExampleClientID() string { return "service" }
