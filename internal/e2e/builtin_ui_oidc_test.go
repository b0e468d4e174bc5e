package e2e_test

// Social sign-in through the built-in UI in headless Chromium: `serve --dev`
// with one provider (the in-test OpenID provider), the provider's button on
// the sign-in page, the provider's own sign-in page, and back signed in;
// then an account without an email address, asked for it on the sign-up
// page before it is created.

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hoplite-id/hoplite/internal/testutil/testop"
)

func TestBuiltinUIOIDC(t *testing.T) {
	chromium := btChromium(t)
	t.Parallel()
	op := testop.New(t, oidcAlice, oidcNoMail)
	providers, _ := json.Marshal([]map[string]any{{
		"id": oidcProvider, "provider": "generic", "label": "Test OP",
		"client_id": oidcClientID, "client_secret": oidcClientSecret, "issuer_url": op.Issuer,
		"scope": []string{"email", "profile"}, "mapper_url": "base64://" + base64.StdEncoding.EncodeToString([]byte(oidcMapper)),
	}})
	s := startDevServer(t,
		"SELFSERVICE_METHODS_OIDC_ENABLED=true",
		"SELFSERVICE_METHODS_OIDC_CONFIG_PROVIDERS="+string(providers),
		`SELFSERVICE_FLOWS_REGISTRATION_AFTER_OIDC_HOOKS=[{"hook":"session"}]`)
	op.Start(oidcClientID, oidcClientSecret, s.public+"self-service/methods/oidc/callback/"+oidcProvider)
	br := btOpenBrowser(t, chromium)

	signInAtProvider := func(b *btBrowser, u testop.User) btPage {
		b.t.Helper()
		b.run("sign in at the provider",
			chromedp.SendKeys(chromedp.CSS("#username"), u.Username),
			chromedp.SendKeys(chromedp.CSS("#password"), u.Password))
		return b.click(`button[type=submit]`)
	}

	t.Run("sign in with the provider", func(t *testing.T) {
		b := br.with(t)
		p := b.open(s.public)
		uiExpectPath(t, s, p, "/ui/login")
		p = uiPress(b, "provider", oidcProvider)
		if !strings.HasPrefix(p.URL, op.Issuer+testop.LoginPath) {
			t.Fatalf("the button did not lead to the provider: %s", p)
		}
		p = signInAtProvider(b, oidcAlice)
		uiExpectPath(t, s, p, "/ui/")
		if !strings.Contains(p.Text, "Signed in as") || !strings.Contains(p.Text, oidcAlice.Email) {
			t.Fatalf("not signed in after the provider: %s", p)
		}
	})

	t.Run("missing email asked for", func(t *testing.T) {
		b := br.incognito().with(t)
		p := b.open(s.public)
		uiExpectPath(t, s, p, "/ui/login")
		uiPress(b, "provider", oidcProvider)
		p = signInAtProvider(b, oidcNoMail)
		uiExpectPath(t, s, p, "/ui/registration")
		if !uiHasMessage(p, 4000002) {
			t.Fatalf("no missing-property message: %+v", p.Messages)
		}
		uiFill(b, "traits.email", "nomail@example.org")
		uiPress(b, "provider", oidcProvider)
		// The provider keeps no session of its own: sign in there again.
		p = signInAtProvider(b, oidcNoMail)
		uiExpectPath(t, s, p, "/ui/")
		if !strings.Contains(p.Text, "nomail@example.org") {
			t.Fatalf("not signed in with the address given: %s", p)
		}
	})
}
