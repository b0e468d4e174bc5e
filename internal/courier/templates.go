package courier

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/hoplite-id/hoplite/internal/httpclient"
)

//go:embed templates
var builtinFS embed.FS

// Part is one of the three templates of an email.
type Part string

// The parts of an email, named after their files.
const (
	PartSubject   Part = "email.subject.gotmpl"
	PartHTML      Part = "email.body.gotmpl"
	PartPlaintext Part = "email.body.plaintext.gotmpl"
)

var parts = []Part{PartSubject, PartHTML, PartPlaintext}

// glob is the pattern of the files parsed together with the part's file
// from an override directory, as Kratos does: a template may then call
// templates defined in sibling files such as email.body.html.de.gotmpl.
func (p Part) glob() string {
	switch p {
	case PartSubject:
		return "email.subject*"
	case PartHTML:
		return "email.body*"
	default:
		return "email.body.plaintext*"
	}
}

func (p Part) html() bool { return p == PartHTML }

// TemplateSource holds template URIs (file://, http(s)://, base64://, or a
// bare file path) of one email; empty fields fall back to the override
// directory, then to the built-in templates.
type TemplateSource struct {
	Subject   string
	HTML      string
	Plaintext string
}

func (s TemplateSource) uri(p Part) string {
	switch p {
	case PartSubject:
		return s.Subject
	case PartHTML:
		return s.HTML
	default:
		return s.Plaintext
	}
}

// TemplateOptions say where templates come from.
type TemplateOptions struct {
	// OverridePath is a directory laid out like the built-in templates
	// (recovery/valid/email.subject.gotmpl, …). Each file found there
	// replaces the built-in one; missing files fall back to the built-in.
	OverridePath string
	// Sources are per-template URIs; they win over OverridePath.
	Sources map[TemplateType]TemplateSource
	// HTTPClient fetches http(s) URIs; nil means a default
	// internal/httpclient client with a 10 s timeout.
	HTTPClient *http.Client
	// Logger receives warnings about the override directory.
	Logger *slog.Logger
}

// maxTemplateSize caps a template document.
const maxTemplateSize = 1 << 20

// renderer executes one part: a text or an HTML template set and the name
// of its root template.
type renderer struct {
	origin string // for error messages: where the template came from
	name   string
	text   *texttemplate.Template
	html   *htmltemplate.Template
}

func (r *renderer) execute(w io.Writer, data any) error {
	if r.html != nil {
		return r.html.ExecuteTemplate(w, r.name, data)
	}
	return r.text.ExecuteTemplate(w, r.name, data)
}

// Templates are the parsed email templates.
type Templates struct {
	set map[TemplateType]map[Part]*renderer
}

// Rendered is one rendered email.
type Rendered struct {
	Subject   string
	Plaintext string
	HTML      string
}

var builtin *Templates

func init() {
	t, err := LoadTemplates(context.Background(), TemplateOptions{})
	if err != nil {
		panic("courier: built-in templates: " + err.Error())
	}
	builtin = t
}

// BuiltinTemplates returns the embedded templates.
func BuiltinTemplates() *Templates { return builtin }

// LoadTemplates parses every template from its source: the URI in
// o.Sources, else a file in o.OverridePath, else the embedded one. A
// template that cannot be fetched or parsed is an error naming it.
func LoadTemplates(ctx context.Context, o TemplateOptions) (*Templates, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := o.HTTPClient
	if client == nil {
		client = httpclient.New(httpclient.Options{Timeout: 10 * time.Second})
	}
	var override fs.FS
	if o.OverridePath != "" {
		switch fi, err := os.Stat(o.OverridePath); {
		case err != nil:
			logger.Warn("courier.template_override_path cannot be read; using the built-in email templates", "path", o.OverridePath, "error", err)
		case !fi.IsDir():
			return nil, fmt.Errorf("courier.template_override_path %s is not a directory", o.OverridePath)
		default:
			override = os.DirFS(o.OverridePath)
		}
	}
	out := &Templates{set: map[TemplateType]map[Part]*renderer{}}
	for _, t := range TemplateTypes {
		out.set[t] = map[Part]*renderer{}
		for _, p := range parts {
			label := t.dir() + "/" + string(p)
			var (
				r   *renderer
				err error
			)
			switch {
			case o.Sources[t].uri(p) != "":
				uri := o.Sources[t].uri(p)
				var doc *httpclient.Document
				if doc, err = httpclient.Fetch(ctx, client, uri, maxTemplateSize); err == nil {
					if doc.Deprecated {
						logger.Warn("an email template location is a bare file path; use a file:// URL", "template", label, "location", uri)
					}
					r, err = parseOne(httpclient.Redact(uri), string(p), p.html(), doc.Data)
				}
			case override != nil && exists(override, t.dir()+"/"+string(p)):
				r, err = parseGlob(override, filepath.Join(o.OverridePath, filepath.FromSlash(t.dir())), t.dir(), p)
			default:
				if override != nil {
					if m := strays(override, t.dir(), p); len(m) > 0 {
						logger.Warn("the email template override directory has files for this template but not the template itself; using the built-in one",
							"template", label, "found", m)
					}
				}
				var src []byte
				if src, err = builtinFS.ReadFile("templates/" + t.dir() + "/" + string(p)); err == nil {
					r, err = parseOne("built-in", string(p), p.html(), src)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("courier: email template %s: %w", label, err)
			}
			if err := checkEscaping(r); err != nil {
				return nil, fmt.Errorf("courier: email template %s (%s): %w", label, r.origin, err)
			}
			out.set[t][p] = r
		}
	}
	return out, nil
}

// strays lists the files of an override directory that match the part's
// glob although the part's own file is missing (they are only used from
// that file).
func strays(fsys fs.FS, dir string, p Part) []string {
	m, _ := fs.Glob(fsys, path.Join(dir, p.glob()))
	var out []string
	for _, name := range m {
		if p.html() && strings.HasPrefix(path.Base(name), "email.body.plaintext") {
			continue
		}
		out = append(out, name)
	}
	return out
}

func exists(fsys fs.FS, name string) bool {
	fi, err := fs.Stat(fsys, name)
	return err == nil && !fi.IsDir()
}

func parseOne(origin, name string, html bool, src []byte) (*renderer, error) {
	r := &renderer{origin: origin, name: name}
	var err error
	if html {
		r.html, err = htmltemplate.New(name).Funcs(htmltemplate.FuncMap(funcs)).Parse(string(src))
	} else {
		r.text, err = texttemplate.New(name).Funcs(texttemplate.FuncMap(funcs)).Parse(string(src))
	}
	if err != nil {
		return nil, fmt.Errorf("parsing (%s): %w", origin, err)
	}
	return r, nil
}

// parseGlob parses the part's file of an override directory together with
// its siblings matching the part's glob.
func parseGlob(fsys fs.FS, origin, dir string, p Part) (*renderer, error) {
	pattern := path.Join(dir, p.glob())
	r := &renderer{origin: origin, name: string(p)}
	var err error
	if p.html() {
		r.html, err = htmltemplate.New(string(p)).Funcs(htmltemplate.FuncMap(funcs)).ParseFS(fsys, pattern)
	} else {
		r.text, err = texttemplate.New(string(p)).Funcs(texttemplate.FuncMap(funcs)).ParseFS(fsys, pattern)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing (%s): %w", origin, err)
	}
	return r, nil
}

// sampleData is used to check HTML templates for escaping errors at start.
var sampleData = EmailData{
	To: "someone@example.org", RecoveryURL: "https://example.org/recovery", VerificationURL: "https://example.org/verification",
	Identity: map[string]any{"id": "00000000-0000-0000-0000-000000000000", "traits": map[string]any{"email": "someone@example.org"}},
}

// checkEscaping executes an HTML template once so that html/template's
// contextual escaping errors (which do not depend on data) show at start
// rather than when the first email is sent.
func checkEscaping(r *renderer) error {
	if r.html == nil {
		return nil
	}
	err := r.execute(io.Discard, sampleData)
	var he *htmltemplate.Error
	if errors.As(err, &he) {
		return err
	}
	return nil
}

// Render renders every part of template t for data.
func (ts *Templates) Render(t TemplateType, data EmailData) (Rendered, error) {
	var out Rendered
	var err error
	if out.Subject, err = ts.renderPart(t, PartSubject, data); err != nil {
		return out, err
	}
	out.Subject = cleanSubject(out.Subject)
	if out.Plaintext, err = ts.renderPart(t, PartPlaintext, data); err != nil {
		return out, err
	}
	if out.HTML, err = ts.renderPart(t, PartHTML, data); err != nil {
		return out, err
	}
	return out, nil
}

// RenderHTML renders the HTML body of template t for data.
func (ts *Templates) RenderHTML(t TemplateType, data EmailData) (string, error) {
	return ts.renderPart(t, PartHTML, data)
}

func (ts *Templates) renderPart(t TemplateType, p Part, data EmailData) (string, error) {
	r := ts.set[t][p]
	if r == nil {
		return "", fmt.Errorf("courier: unknown email template %q", t)
	}
	var b bytes.Buffer
	if err := r.execute(&b, data); err != nil {
		return "", fmt.Errorf("courier: rendering email template %s/%s (%s): %w", t.dir(), p, r.origin, err)
	}
	return b.String(), nil
}

// cleanSubject makes one header-safe line of a rendered subject.
func cleanSubject(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
