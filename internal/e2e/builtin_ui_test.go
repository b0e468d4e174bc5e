package e2e_test

// The built-in self-service UI in a real, headless Chromium, as a person
// meets it: `hoplite serve --dev` with no configuration in an empty folder,
// then / in the browser. The walk signs up, signs out, signs in with a
// wrong and then the right password, changes the profile and the password,
// verifies the address and recovers the account through the dev mail page,
// sees an anti-CSRF failure and an expired form as pages, and checks every
// page with axe-core (when HOPLITE_TEST_AXE names axe.min.js) and the
// security headers. With HOPLITE_UI_SCREENSHOTS=<dir> it also writes a
// screenshot of every page at phone and desktop widths (docs/ui/ is made
// so).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

var (
	hopliteBinOnce sync.Once
	hopliteBin     string
	hopliteBinErr  error
)

// buildHoplite builds cmd/hoplite once per test binary.
func buildHoplite(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the hoplite binary with")
	}
	hopliteBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hoplite-bin-")
		if err != nil {
			hopliteBinErr = err
			return
		}
		hopliteBin = filepath.Join(dir, "hoplite")
		cmd := exec.Command("go", "build", "-o", hopliteBin, "./cmd/hoplite")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			hopliteBinErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if hopliteBinErr != nil {
		t.Fatal(hopliteBinErr)
	}
	return hopliteBin
}

// devServer is `hoplite serve --dev` run in an empty folder.
type devServer struct {
	public string // with trailing slash
	logs   *strings.Builder
}

func startDevServer(t *testing.T, env ...string) *devServer {
	t.Helper()
	bin := buildHoplite(t)
	pub, adm := testutil.FreePort(t), testutil.FreePort(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--dev")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SERVE_PUBLIC_PORT="+strconv.Itoa(pub), "SERVE_ADMIN_PORT="+strconv.Itoa(adm),
		// The breach check would reach for the internet; this machine has none.
		"SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED=false")
	cmd.Env = append(cmd.Env, env...)
	s := &devServer{public: fmt.Sprintf("http://127.0.0.1:%d/", pub), logs: &strings.Builder{}}
	var mu sync.Mutex
	cmd.Stdout = lockedWriter{&mu, s.logs}
	cmd.Stderr = lockedWriter{&mu, s.logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			mu.Lock()
			t.Logf("server log:\n%s", s.logs.String())
			mu.Unlock()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.public + "health/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve --dev did not become ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// uiFill types into the first input named name.
func uiFill(b *btBrowser, name, value string) {
	b.t.Helper()
	css := fmt.Sprintf(`input[name=%q]`, name)
	quoted, _ := json.Marshal(css)
	clear := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ""`, quoted))
	b.run("fill "+name, chromedp.WaitVisible(chromedp.CSS(css)), clear, chromedp.SendKeys(chromedp.CSS(css), value))
}

// uiPress clicks the button name=value and returns the page it leads to.
func uiPress(b *btBrowser, name, value string) btPage {
	b.t.Helper()
	return b.click(fmt.Sprintf(`button[name=%q][value=%q]`, name, value))
}

func uiLink(b *btBrowser, text string) btPage {
	b.t.Helper()
	quoted, _ := json.Marshal(text)
	return b.navigate("follow "+text, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`Array.from(document.querySelectorAll("a")).find((a) => a.textContent.trim() === %s).click()`, quoted)))
}

func uiExpectPath(t *testing.T, s *devServer, p btPage, path string) {
	t.Helper()
	if got := p.path(s.public); got != path {
		t.Fatalf("the browser is at %s, want %s; page %s", got, path, p)
	}
}

func uiHasMessage(p btPage, id int64) bool {
	for _, m := range p.Messages {
		if m.ID == id {
			return true
		}
	}
	return false
}

var uiLinkRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+/self-service/(recovery|verification)\?[^\s"<]+`)

// uiMailLink opens the dev mail page and returns the newest link of kind.
func uiMailLink(t *testing.T, b *btBrowser, s *devServer, kind string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := b.open(s.public + "ui/mail")
		for _, m := range uiLinkRE.FindAllStringSubmatch(p.Text, -1) {
			if m[1] == kind {
				return m[0]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s link on the dev mail page: %s", kind, p)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// uiAxe runs axe-core on the page and fails on serious or critical
// violations.
func uiAxe(t *testing.T, b *btBrowser, axe, what string) {
	t.Helper()
	if axe == "" {
		return
	}
	ctx, cancel := b.step()
	defer cancel()
	type violation struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  int    `json:"nodes"`
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axe+"\n;window.__axeLoaded = true;")); err != nil {
		t.Fatalf("loading axe-core: %v", err)
	}
	js := `axe.run(document, {resultTypes: ["violations"]}).then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.length})))`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe-core on %s: %v", what, err)
	}
	for _, v := range got {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("accessibility (%s): %s %s: %s (%d elements)", what, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// uiShot writes phone and desktop screenshots of the page when
// HOPLITE_UI_SCREENSHOTS names a folder.
func uiShot(t *testing.T, b *btBrowser, name string) {
	t.Helper()
	dir := os.Getenv("HOPLITE_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, size := range []struct {
		suffix        string
		width, height int64
		mobile        bool
	}{{"phone", 390, 844, true}, {"desktop", 1280, 860, false}} {
		ctx, cancel := b.step()
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: size.width, Height: size.height, DeviceScaleFactor: 1, Mobile: size.mobile})
		var buf []byte
		if err == nil {
			buf, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		cancel()
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+size.suffix+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := b.step()
	defer cancel()
	_, _ = chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
}

func TestBuiltinUI(t *testing.T) {
	chromium := btChromium(t)
	t.Parallel()
	axe := ""
	if path := os.Getenv("HOPLITE_TEST_AXE"); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("HOPLITE_TEST_AXE: %v", err)
		}
		axe = string(raw)
	} else if ok, _ := strconv.ParseBool(os.Getenv(btRequireBrowserEnv)); ok {
		t.Fatalf("%s is set but HOPLITE_TEST_AXE does not name axe-core's axe.min.js", btRequireBrowserEnv)
	} else {
		t.Log("HOPLITE_TEST_AXE is not set: the accessibility checks are left out")
	}
	s := startDevServer(t)
	br := btOpenBrowser(t, chromium)

	const (
		email     = "ada@example.org"
		password  = "Analytical-Engine-1843"
		changed   = "Difference-Engine-1822"
		recovered = "Recovered-Engine-1871"
	)

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"/ leads to sign in", func(t *testing.T) {
			b := br.with(t)
			p := b.open(s.public)
			uiExpectPath(t, s, p, "/ui/login")
			if p.query("flow") == "" {
				t.Fatalf("no flow: %s", p)
			}
			uiAxe(t, b, axe, "login")
			uiShot(t, b, "login")
		}},
		{"sign up", func(t *testing.T) {
			b := br.with(t)
			p := uiLink(b, "Create an account")
			uiExpectPath(t, s, p, "/ui/registration")
			uiAxe(t, b, axe, "registration")
			uiShot(t, b, "registration")
			// A password too short first: the form comes back with the
			// message on the password field and the email kept.
			uiFill(b, "traits.email", email)
			uiFill(b, "password", "short")
			p = uiPress(b, "method", "password")
			uiExpectPath(t, s, p, "/ui/registration")
			if !uiHasMessage(p, 4000005) {
				t.Fatalf("no password policy message: %+v", p.Messages)
			}
			if v := b.eval(`document.querySelector('input[name="traits.email"]').value`); v != email {
				t.Errorf("the email was not kept: %q", v)
			}
			if v := b.eval(`document.activeElement && document.activeElement.name || ""`); v != "password" {
				t.Errorf("focus is on %q, want the field with the error", v)
			}
			if d := b.eval(`document.querySelector('input[name="password"]').getAttribute("aria-describedby") || ""`); d == "" {
				t.Error("the password error is not tied to its field")
			}
			uiShot(t, b, "registration-error")
			uiFill(b, "password", password)
			p = uiPress(b, "method", "password")
			uiExpectPath(t, s, p, "/ui/")
			if !strings.Contains(p.Text, "Signed in as") || !strings.Contains(p.Text, email) {
				t.Fatalf("the home page does not show the new account: %s", p)
			}
			uiAxe(t, b, axe, "home")
			uiShot(t, b, "home")
		}},
		{"sign out", func(t *testing.T) {
			b := br.with(t)
			p := uiLink(b, "Sign out")
			uiExpectPath(t, s, p, "/ui/login")
			if b.cookie(s.public, "ory_kratos_session") != nil {
				t.Error("the session cookie is still there")
			}
		}},
		{"sign in, wrong then right password", func(t *testing.T) {
			b := br.with(t)
			uiFill(b, "identifier", email)
			uiFill(b, "password", "not-the-password")
			p := uiPress(b, "method", "password")
			uiExpectPath(t, s, p, "/ui/login")
			if !uiHasMessage(p, 4000006) {
				t.Fatalf("no invalid-credentials message: %+v", p.Messages)
			}
			if v := b.eval(`document.querySelector('input[name="password"]').value`); v != "" {
				t.Error("the password was shown again")
			}
			uiShot(t, b, "login-error")
			uiFill(b, "identifier", email)
			uiFill(b, "password", password)
			p = uiPress(b, "method", "password")
			uiExpectPath(t, s, p, "/ui/")
		}},
		{"settings: profile and password", func(t *testing.T) {
			b := br.with(t)
			p := uiLink(b, "Account settings")
			uiExpectPath(t, s, p, "/ui/settings")
			uiAxe(t, b, axe, "settings")
			uiShot(t, b, "settings")
			uiFill(b, "traits.name.first", "Ada")
			p = uiPress(b, "method", "profile")
			uiExpectPath(t, s, p, "/ui/settings")
			if !uiHasMessage(p, 1050001) {
				t.Fatalf("no saved message after the profile change: %+v", p.Messages)
			}
			if v := b.eval(`document.querySelector('input[name="traits.name.first"]').value`); v != "Ada" {
				t.Errorf("first name %q", v)
			}
			uiFill(b, "password", changed)
			p = uiPress(b, "method", "password")
			if !uiHasMessage(p, 1050001) {
				t.Fatalf("no saved message after the password change: %+v", p.Messages)
			}
		}},
		{"verification through the dev mail page", func(t *testing.T) {
			b := br.with(t)
			link := uiMailLink(t, b, s, "verification")
			uiAxe(t, b, axe, "mail")
			uiShot(t, b, "mail")
			p := b.open(link)
			uiExpectPath(t, s, p, "/ui/verification")
			if !uiHasMessage(p, 1080002) {
				t.Fatalf("no verified message: %s %+v", p, p.Messages)
			}
			uiShot(t, b, "verification")
			p = b.open(s.public + "ui/")
			if !strings.Contains(p.Text, "verified") || strings.Contains(p.Text, "not verified") {
				t.Errorf("the home page does not show the address verified: %s", p)
			}
		}},
		{"recovery through the dev mail page", func(t *testing.T) {
			b := br.with(t)
			uiLink(b, "Sign out")
			p := uiLink(b, "Forgot your password?")
			uiExpectPath(t, s, p, "/ui/recovery")
			uiAxe(t, b, axe, "recovery")
			uiShot(t, b, "recovery")
			uiFill(b, "email", email)
			p = uiPress(b, "method", "link")
			uiExpectPath(t, s, p, "/ui/recovery")
			if !uiHasMessage(p, 1060002) {
				t.Fatalf("no sent message: %+v", p.Messages)
			}
			p = b.open(uiMailLink(t, b, s, "recovery"))
			uiExpectPath(t, s, p, "/ui/settings")
			if !uiHasMessage(p, 1060001) {
				t.Fatalf("no recovered message on the settings page: %+v", p.Messages)
			}
			uiFill(b, "password", recovered)
			p = uiPress(b, "method", "password")
			if !uiHasMessage(p, 1050001) {
				t.Fatalf("the new password was not saved: %+v", p.Messages)
			}
			uiLink(b, "Back to your account")
			uiLink(b, "Sign out")
			uiFill(b, "identifier", email)
			uiFill(b, "password", recovered)
			p = uiPress(b, "method", "password")
			uiExpectPath(t, s, p, "/ui/")
		}},
		{"sign out everywhere else", func(t *testing.T) {
			b := br.with(t)
			other := br.incognito().with(t)
			other.open(s.public)
			uiFill(other, "identifier", email)
			uiFill(other, "password", recovered)
			uiExpectPath(t, s, uiPress(other, "method", "password"), "/ui/")
			p := b.open(s.public + "ui/")
			if !strings.Contains(p.Text, "Another session") {
				t.Fatalf("the other session is not listed: %s", p)
			}
			p = uiPress(b, "action", "revoke-others")
			if strings.Contains(p.Text, "Another session") {
				t.Errorf("the other session is still listed: %s", p)
			}
			uiExpectPath(t, s, other.open(s.public+"ui/"), "/ui/login")
		}},
		{"an anti-CSRF failure is a page", func(t *testing.T) {
			b := br.with(t)
			uiLink(b, "Sign out")
			b.open(s.public + "ui/login")
			uiFill(b, "identifier", email)
			uiFill(b, "password", recovered)
			for name, c := range b.cookies(s.public) {
				if strings.HasPrefix(name, "csrf_token_") {
					ctx, cancel := b.step()
					_, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: name, Domain: c.Domain, Path: c.Path})
					cancel()
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			p := uiPress(b, "method", "password")
			uiExpectPath(t, s, p, "/ui/error")
			if !strings.Contains(p.Text, "start again") {
				t.Errorf("the error page does not explain: %s", p)
			}
			uiAxe(t, b, axe, "error")
			uiShot(t, b, "error")
		}},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			t.Fatalf("stopping: the later steps need %q", st.name)
		}
	}
}

// The pages' security headers, and an expired form starting again cleanly.
func TestBuiltinUIHeadersAndExpiry(t *testing.T) {
	chromium := btChromium(t)
	t.Parallel()
	s := startDevServer(t, "SELFSERVICE_FLOWS_LOGIN_LIFESPAN=2s")
	res, err := http.Get(s.public + "ui/login?flow=00000000-0000-4000-8000-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// An unknown flow starts a new one.
	if res.Request.URL.Path != "/ui/login" || res.Request.URL.Query().Get("flow") == "00000000-0000-4000-8000-000000000000" {
		t.Errorf("unknown flow ended at %s", res.Request.URL)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self' 'nonce-", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy allows inline script: %q", csp)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") == "" {
		t.Errorf("headers %v", res.Header)
	}

	br := btOpenBrowser(t, chromium)
	p := br.open(s.public + "ui/login")
	old := p.query("flow")
	time.Sleep(2500 * time.Millisecond) // the form's lifespan is 2s
	uiFill(br, "identifier", "nobody@example.org")
	uiFill(br, "password", "whatever-password")
	p = uiPress(br, "method", "password")
	uiExpectPath(t, s, p, "/ui/login")
	if p.query("flow") == old || !uiHasMessage(p, 4010001) {
		t.Errorf("an expired form did not restart with its message: flow %s (old %s), messages %+v", p.query("flow"), old, p.Messages)
	}
}

// TOTP through the built-in pages: set up in settings from the page's QR
// code and key, then a second-step sign-in page asking for the code.
func TestBuiltinUITOTP(t *testing.T) {
	chromium := btChromium(t)
	t.Parallel()
	s := startDevServer(t, "SELFSERVICE_METHODS_TOTP_ENABLED=true")
	b := btOpenBrowser(t, chromium)
	const email, password = "grace@example.org", "Compiler-Pioneer-1952"

	b.open(s.public + "ui/registration")
	uiFill(b, "traits.email", email)
	uiFill(b, "password", password)
	uiExpectPath(t, s, uiPress(b, "method", "password"), "/ui/")

	p := uiLink(b, "Account settings")
	uiExpectPath(t, s, p, "/ui/settings")
	if src := b.eval(`(document.querySelector("img#totp_qr") || {}).src || ""`); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("the QR code is not shown as an inline PNG: %q", src)
	}
	key := strings.TrimSpace(b.eval(`(document.querySelector("#totp_secret_key code") || {}).textContent || ""`))
	if len(key) < 16 {
		t.Fatalf("no TOTP key on the page: %q", key)
	}
	uiShot(t, b, "settings-totp")
	uiFill(b, "totp_code", mfaCode(t, key, 0))
	p = uiPress(b, "method", "totp")
	if !uiHasMessage(p, 1050001) {
		t.Fatalf("TOTP was not saved: %s %+v", p, p.Messages)
	}

	// Signing in again asks for the second step on its own page.
	uiLink(b, "Back to your account")
	uiLink(b, "Sign out")
	uiFill(b, "identifier", email)
	uiFill(b, "password", password)
	p = uiPress(b, "method", "password")
	uiExpectPath(t, s, p, "/ui/login")
	if p.query("flow") == "" || !uiHasMessage(p, 1010004) {
		t.Fatalf("no second-step page: %s %+v", p, p.Messages)
	}
	if ac := b.eval(`(document.querySelector('input[name="totp_code"]') || {}).autocomplete || ""`); ac != "one-time-code" {
		t.Errorf("totp_code autocomplete %q", ac)
	}
	uiShot(t, b, "login-totp")
	uiFill(b, "totp_code", "000000")
	p = uiPress(b, "method", "totp")
	if !uiHasMessage(p, 4000008) {
		t.Fatalf("a wrong code was not refused: %+v", p.Messages)
	}
	uiFill(b, "totp_code", mfaCode(t, key, 1))
	p = uiPress(b, "method", "totp")
	uiExpectPath(t, s, p, "/ui/")
	if !strings.Contains(p.Text, "aal2") {
		t.Errorf("the home page does not show aal2: %s", p)
	}
}
