package e2e_test

// Social sign-in in a real, headless Chromium: the user clicks the
// provider's button on the rendered login form, signs in on the in-test
// OpenID provider's own page, and comes back signed in.

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hoplite-id/hoplite/internal/testutil/testop"
)

func TestBrowserOIDCSignIn(t *testing.T) {
	chromium := btChromium(t)
	t.Parallel()
	op := testop.New(t, oidcAlice)
	env := btStart(t, oidcProviderConfig(op.Issuer))
	ui, s := env.ui, env.s
	op.Start(oidcClientID, oidcClientSecret, s.PublicURL+"self-service/methods/oidc/callback/"+oidcProvider)
	br := btOpenBrowser(t, chromium)

	p := br.open(ui.URL + "login")
	btExpectPage(t, ui, p, "login")
	if !p.hasButton("form-oidc", "provider", oidcProvider) {
		t.Fatalf("the login page shows no button for the provider: %s", p)
	}
	p = br.submit("form-oidc", "provider", oidcProvider)
	if !strings.HasPrefix(p.URL, op.Issuer+testop.LoginPath) {
		t.Fatalf("the button did not lead to the provider's sign-in page: %s", p)
	}
	br.run("sign in at the provider",
		chromedp.SendKeys(chromedp.CSS("#username"), oidcAlice.Username),
		chromedp.SendKeys(chromedp.CSS("#password"), oidcAlice.Password))
	p = br.click(`button[type=submit]`)
	btExpectPage(t, ui, p, "welcome")
	if !strings.Contains(p.Text, "Signed in as "+oidcAlice.Email) {
		t.Fatalf("not signed in after the provider: %s (hops %v)", p, p.Hops)
	}
	if br.cookie(s.PublicURL, "ory_kratos_session") == nil {
		t.Fatal("no session cookie after signing in at the provider")
	}
	// The state cookie is used up.
	if br.cookie(s.PublicURL, "ory_kratos_continuity") != nil {
		t.Error("the continuity cookie outlived the callback")
	}
}
