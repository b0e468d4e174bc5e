package oidc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// continuityCookie is where the state of a sign-in at a provider waits for
// the browser to come back, under the name Kratos uses.
const continuityCookie = "ory_kratos_continuity"

// stateLifespan is how long a sign-in at the provider may take.
const stateLifespan = 30 * time.Minute

// authState is the sign-in under way at a provider, bound to one flow.
type authState struct {
	FlowID   uuid.UUID `json:"f"`
	Provider string    `json:"p"`
	// State is the OAuth2 state parameter; the callback must echo it.
	State string `json:"s"`
	// Verifier is the PKCE code verifier (S256).
	Verifier string `json:"v"`
	// Nonce must come back in the ID token.
	Nonce string `json:"n,omitempty"`
	// Traits are the traits the registration form sent along; they are
	// merged over the mapped ones.
	Traits  json.RawMessage `json:"t,omitempty"`
	Expires int64           `json:"e"`
}

// stateCodec seals auth states into cookies: AES-256-GCM, so the cookie is
// both secret and tamper-proof. The first secret seals; every secret opens
// (rotation).
type stateCodec struct {
	aeads  []cipher.AEAD
	secure bool
	now    func() time.Time
}

func newStateCodec(secrets []string, secure bool) (*stateCodec, error) {
	if len(secrets) == 0 {
		return nil, errors.New("oidc: no cookie secret configured")
	}
	c := &stateCodec{secure: secure, now: time.Now}
	for _, s := range secrets {
		// A key of its own per purpose, so the cookie secret is never used
		// directly as an encryption key elsewhere.
		key := sha256.Sum256([]byte("hoplite oidc continuity\x00" + s))
		block, err := aes.NewCipher(key[:])
		if err != nil {
			return nil, err
		}
		a, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		c.aeads = append(c.aeads, a)
	}
	return c, nil
}

// cookie is the cookie holding st.
func (c *stateCodec) cookie(st *authState) (*http.Cookie, error) {
	st.Expires = c.now().Add(stateLifespan).Unix()
	plain, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	a := c.aeads[0]
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	sealed := a.Seal(nonce, nonce, plain, []byte(continuityCookie))
	return &http.Cookie{
		Name: continuityCookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/",
		MaxAge: int(stateLifespan / time.Second), HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	}, nil
}

// errNoState is a callback without a (valid, unexpired) state cookie.
var errNoState = errors.New("no resumable session found")

// read opens the state cookie of r.
func (c *stateCodec) read(r *http.Request) (*authState, error) {
	ck, err := r.Cookie(continuityCookie)
	if err != nil {
		return nil, errNoState
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil, errNoState
	}
	for _, a := range c.aeads {
		if len(raw) < a.NonceSize() {
			continue
		}
		plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], []byte(continuityCookie))
		if err != nil {
			continue
		}
		var st authState
		if json.Unmarshal(plain, &st) != nil || c.now().Unix() > st.Expires {
			return nil, errNoState
		}
		return &st, nil
	}
	return nil, errNoState
}

// clear removes the state cookie.
func (c *stateCodec) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: continuityCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
}

// randomString is a URL-safe random value of n bytes of entropy.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
