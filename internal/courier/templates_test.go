package courier_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/courier"
)

func writeTemplate(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestBuiltinTemplates(t *testing.T) {
	t.Parallel()
	tmpl := courier.BuiltinTemplates()
	identity := map[string]any{"id": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "traits": map[string]any{"email": "ann@example.org"}}
	link := "https://id.example.org/self-service/recovery?flow=abc&token=xyz"
	cases := []struct {
		t         courier.TemplateType
		data      courier.EmailData
		subject   string
		wantText  []string
		wantHTML  []string
		forbidden string
	}{
		{courier.RecoveryValid, courier.EmailData{To: "ann@example.org", RecoveryURL: link, Identity: identity},
			"Recover access to your account",
			[]string{link},
			[]string{`href="https://id.example.org/self-service/recovery?flow=abc&amp;token=xyz"`}, ""},
		{courier.RecoveryInvalid, courier.EmailData{To: "nobody@example.org"},
			"Account recovery was requested for this address",
			[]string{"nobody@example.org"}, []string{"nobody@example.org"}, "http"},
		{courier.VerificationValid, courier.EmailData{To: "ann@example.org", VerificationURL: "https://id.example.org/self-service/verification?flow=f&token=t", Identity: identity},
			"Please verify your email address",
			[]string{"https://id.example.org/self-service/verification?flow=f&token=t"},
			[]string{`href="https://id.example.org/self-service/verification?flow=f&amp;token=t"`}, ""},
		{courier.VerificationInvalid, courier.EmailData{To: "nobody@example.org"},
			"Verification was requested for this address",
			[]string{"nobody@example.org"}, []string{"nobody@example.org"}, "http"},
		{courier.CredentialsChanged, courier.EmailData{To: "ann@example.org", Identity: identity},
			"Your password was changed",
			[]string{"password of the account", "recover"}, []string{"password of the account"}, "http"},
		{courier.RecoveryCompleted, courier.EmailData{To: "ann@example.org", Identity: identity},
			"Your account was recovered",
			[]string{"was just recovered"}, []string{"was just recovered"}, "http"},
	}
	for _, c := range cases {
		t.Run(string(c.t), func(t *testing.T) {
			r, err := tmpl.Render(c.t, c.data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject != c.subject {
				t.Errorf("subject %q, want %q", r.Subject, c.subject)
			}
			for _, w := range c.wantText {
				if !strings.Contains(r.Plaintext, w) {
					t.Errorf("plaintext lacks %q:\n%s", w, r.Plaintext)
				}
			}
			for _, w := range c.wantHTML {
				if !strings.Contains(r.HTML, w) {
					t.Errorf("HTML lacks %q:\n%s", w, r.HTML)
				}
			}
			if c.forbidden != "" && (strings.Contains(r.Plaintext, c.forbidden) || strings.Contains(r.HTML, "href")) {
				t.Errorf("an invalid-address email must carry no link:\n%s\n%s", r.Plaintext, r.HTML)
			}
			if strings.Contains(r.Plaintext, "<no value>") || strings.Contains(r.HTML, "<no value>") {
				t.Errorf("a variable is missing from the model")
			}
		})
	}
}

func TestHTMLIsEscapedAndTextIsNot(t *testing.T) {
	t.Parallel()
	r, err := courier.BuiltinTemplates().Render(courier.RecoveryInvalid, courier.EmailData{To: `o'brien+<b>@example.org`})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<b>") || !strings.Contains(r.HTML, "&lt;b&gt;") {
		t.Errorf("HTML body does not escape the address:\n%s", r.HTML)
	}
	if !strings.Contains(r.Plaintext, "<b>") {
		t.Errorf("plaintext body must not be HTML-escaped:\n%s", r.Plaintext)
	}
	// A javascript: URL is neutralised in an href.
	r, err = courier.BuiltinTemplates().Render(courier.RecoveryValid, courier.EmailData{To: "a@example.org", RecoveryURL: "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, `href="javascript:`) {
		t.Errorf("javascript: URL kept in href:\n%s", r.HTML)
	}
}

func TestOverrideDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// recovery/valid: subject and HTML body overridden; the HTML body uses a
	// sibling file matched by Kratos' glob (email.body*), and sprig-style
	// functions; the plaintext body falls back to the built-in one.
	writeTemplate(t, dir, "recovery/valid/email.subject.gotmpl", `Reset for {{ .Identity.traits.email | upper }}`)
	writeTemplate(t, dir, "recovery/valid/email.body.gotmpl", `{{ template "email.body.html.en.gotmpl" . }}`)
	writeTemplate(t, dir, "recovery/valid/email.body.html.en.gotmpl", `<p>Hi {{ .Identity.traits.name | default "there" }}, go to <a href="{{ .RecoveryURL }}">here</a></p>`)
	// verification/invalid: only the plaintext body.
	writeTemplate(t, dir, "verification/invalid/email.body.plaintext.gotmpl", `custom plaintext for {{ .To }}`)

	var logs bytes.Buffer
	tmpl, err := courier.LoadTemplates(context.Background(), courier.TemplateOptions{
		OverridePath: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tmpl.Render(courier.RecoveryValid, courier.EmailData{
		To: "ann@example.org", RecoveryURL: "https://x.example/r?a=1&b=2",
		Identity: map[string]any{"traits": map[string]any{"email": "ann@example.org"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Reset for ANN@EXAMPLE.ORG" {
		t.Errorf("subject %q", r.Subject)
	}
	if r.HTML != `<p>Hi there, go to <a href="https://x.example/r?a=1&amp;b=2">here</a></p>` {
		t.Errorf("HTML %q", r.HTML)
	}
	builtin, _ := courier.BuiltinTemplates().Render(courier.RecoveryValid, courier.EmailData{To: "ann@example.org", RecoveryURL: "https://x.example/r?a=1&b=2"})
	if r.Plaintext != builtin.Plaintext {
		t.Errorf("plaintext did not fall back to the built-in template:\n%s", r.Plaintext)
	}

	r, err = tmpl.Render(courier.VerificationInvalid, courier.EmailData{To: "z@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Plaintext != "custom plaintext for z@example.org" {
		t.Errorf("plaintext %q", r.Plaintext)
	}
	if r.Subject != "Verification was requested for this address" || !strings.Contains(r.HTML, "z@example.org") {
		t.Errorf("subject and HTML should be the built-in ones: %q", r.Subject)
	}
	// Templates without any override are the built-in ones.
	r, _ = tmpl.Render(courier.VerificationValid, courier.EmailData{To: "a@example.org", VerificationURL: "https://v.example/"})
	if r.Subject != "Please verify your email address" {
		t.Errorf("subject %q", r.Subject)
	}

	// The notification templates are overridden the same way.
	writeTemplate(t, dir, "credentials/changed/email.subject.gotmpl", `Password changed for {{ .Identity.traits.email }}`)
	tmpl, err = courier.LoadTemplates(context.Background(), courier.TemplateOptions{OverridePath: dir})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = tmpl.Render(courier.CredentialsChanged, courier.EmailData{To: "ann@example.org", Identity: map[string]any{"traits": map[string]any{"email": "ann@example.org"}}})
	if r.Subject != "Password changed for ann@example.org" {
		t.Errorf("overridden credentials_changed subject %q", r.Subject)
	}
	if r, _ = tmpl.Render(courier.RecoveryCompleted, courier.EmailData{To: "ann@example.org"}); r.Subject != "Your account was recovered" {
		t.Errorf("recovery_completed subject %q, want the built-in one", r.Subject)
	}

	// A sibling file without the template it belongs to is reported.
	dir2 := t.TempDir()
	writeTemplate(t, dir2, "recovery/invalid/email.subject.de.gotmpl", `Betreff`)
	logs.Reset()
	if _, err := courier.LoadTemplates(context.Background(), courier.TemplateOptions{
		OverridePath: dir2, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "recovery/invalid/email.subject.gotmpl") {
		t.Errorf("no warning about the stray override file: %s", logs.String())
	}
}

func TestTemplateURIsWinOverDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTemplate(t, dir, "verification/valid/email.subject.gotmpl", `from the directory`)
	writeTemplate(t, dir, "verification/valid/email.body.plaintext.gotmpl", `dir plaintext {{ .VerificationURL }}`)
	fileTmpl := filepath.Join(t.TempDir(), "html.gotmpl")
	if err := os.WriteFile(fileTmpl, []byte(`<a href="{{ .VerificationURL }}">file html</a>`), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/recovery-subject" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`remote subject for {{ .To }}`))
	}))
	defer srv.Close()

	tmpl, err := courier.LoadTemplates(context.Background(), courier.TemplateOptions{
		OverridePath: dir,
		Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.VerificationValid: {
				Subject: "base64://" + base64.StdEncoding.EncodeToString([]byte(`Confirm {{ .To }}`)),
				HTML:    "file://" + filepath.ToSlash(fileTmpl),
			},
			courier.RecoveryInvalid: {Subject: srv.URL + "/recovery-subject"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tmpl.Render(courier.VerificationValid, courier.EmailData{To: "a@example.org", VerificationURL: "https://v.example/?x=1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Confirm a@example.org" {
		t.Errorf("base64 URI did not win over the directory: %q", r.Subject)
	}
	if r.HTML != `<a href="https://v.example/?x=1">file html</a>` {
		t.Errorf("file URI: %q", r.HTML)
	}
	if r.Plaintext != "dir plaintext https://v.example/?x=1" {
		t.Errorf("without a URI the directory applies: %q", r.Plaintext)
	}
	r, err = tmpl.Render(courier.RecoveryInvalid, courier.EmailData{To: "b@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "remote subject for b@example.org" {
		t.Errorf("http URI: %q", r.Subject)
	}
}

func TestBadTemplatesFailAtStart(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return "base64://" + base64.StdEncoding.EncodeToString([]byte(s)) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(200 * time.Millisecond)
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()

	cases := []struct {
		name    string
		opts    courier.TemplateOptions
		wantErr []string
	}{
		{"syntax error in a URI", courier.TemplateOptions{Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.RecoveryValid: {Plaintext: b64(`{{ .RecoveryURL `)}}}, []string{"recovery/valid/email.body.plaintext.gotmpl"}},
		{"unknown function", courier.TemplateOptions{Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.VerificationInvalid: {Subject: b64(`{{ .To | shout }}`)}}}, []string{"verification/invalid/email.subject.gotmpl", "shout"}},
		{"HTML escaping error", courier.TemplateOptions{Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.RecoveryInvalid: {HTML: b64(`<a href="{{ .To }}`)}}}, []string{"recovery/invalid/email.body.gotmpl"}},
		{"HTTP error", courier.TemplateOptions{Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.RecoveryValid: {Subject: srv.URL + "/missing?secret=s3cr3t"}}}, []string{"recovery/valid/email.subject.gotmpl", "404"}},
		{"HTTP timeout", courier.TemplateOptions{HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}, Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.RecoveryValid: {Subject: srv.URL + "/slow"}}}, []string{"recovery/valid/email.subject.gotmpl"}},
		{"missing file", courier.TemplateOptions{Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.VerificationValid: {HTML: "file:///nonexistent/tmpl.gotmpl"}}}, []string{"verification/valid/email.body.gotmpl"}},
		{"bad base64", courier.TemplateOptions{Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.VerificationValid: {HTML: "base64://@@@"}}}, []string{"verification/valid/email.body.gotmpl", "base64"}},
		{"unsupported scheme", courier.TemplateOptions{Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.VerificationValid: {HTML: "ftp://x/y"}}}, []string{"ftp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := courier.LoadTemplates(context.Background(), c.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error leaks the URL query: %v", err)
			}
		})
	}

	// A bad file in the override directory names the file.
	dir := t.TempDir()
	writeTemplate(t, dir, "recovery/valid/email.body.gotmpl", `{{ if }}`)
	_, err := courier.LoadTemplates(context.Background(), courier.TemplateOptions{OverridePath: dir})
	if err == nil || !strings.Contains(err.Error(), "recovery/valid/email.body.gotmpl") || !strings.Contains(err.Error(), dir) {
		t.Errorf("bad override file: %v", err)
	}
	// The override path must be a directory.
	file := filepath.Join(dir, "file")
	_ = os.WriteFile(file, nil, 0o600)
	if _, err := courier.LoadTemplates(context.Background(), courier.TemplateOptions{OverridePath: file}); err == nil {
		t.Error("a file as override path was accepted")
	}
	// A missing override directory only warns.
	var logs bytes.Buffer
	if _, err := courier.LoadTemplates(context.Background(), courier.TemplateOptions{
		OverridePath: filepath.Join(dir, "nope"), Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}); err != nil || !strings.Contains(logs.String(), "template_override_path") {
		t.Errorf("missing override dir: err %v, logs %q", err, logs.String())
	}
}
