package selfui

import (
	"encoding/json"
	"html/template"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/ui"
)

func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := LoadCatalog("en")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCatalogFillsContextAndFallsBack(t *testing.T) {
	c := testCatalog(t)
	m := c.message(wireText{ID: 1010002, Text: "Sign in with google", Type: "info", Context: map[string]any{"provider": "Google"}})
	if m.Text != "Continue with Google" {
		t.Errorf("1010002: %q", m.Text)
	}
	m = c.message(wireText{ID: 4999999, Text: "the server's own words", Type: "error"})
	if m.Text != "the server's own words" || !m.Error {
		t.Errorf("unknown id: %+v", m)
	}
	// Backup codes listed in the context, used ones shown as used.
	m = c.message(wireText{ID: 1050015, Text: "a, b", Context: map[string]any{"secrets": []any{
		map[string]any{"id": 1050009, "text": "abcd1234", "context": map[string]any{"secret": "abcd1234"}},
		map[string]any{"id": 1050014, "text": "used", "context": map[string]any{"used_at": "yesterday"}},
	}}})
	if len(m.Items) != 2 || m.Items[0] != "abcd1234" || m.Items[1] != "Used at yesterday" {
		t.Errorf("codes %q", m.Items)
	}
	// Every id of the catalog is one the server can send.
	for _, id := range c.ids() {
		if id < 1000000 || id > 5999999 {
			t.Errorf("catalog id %d is not a message id", id)
		}
	}
}

func loginContainer() *ui.Container {
	c := ui.NewContainer("https://id.example.org/self-service/login?flow=x")
	c.SetCSRF("token+/=")
	c.Upsert(ui.NewInput("provider", "github", ui.GroupOIDC, ui.InputSubmit))
	c.Upsert(ui.NewInput("identifier", "", ui.GroupDefault, ui.InputText, ui.Required(), ui.WithLabel(ui.InfoNodeLabelID())))
	c.Upsert(ui.NewInput("password", nil, ui.GroupPassword, ui.InputPassword, ui.Required()))
	c.Upsert(ui.NewInput("method", "password", ui.GroupPassword, ui.InputSubmit, ui.WithLabel(ui.InfoLogin())))
	return c
}

func TestButtonGroupsGetTheirOwnForm(t *testing.T) {
	f, err := buildForm(loginContainer(), "login", testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Forms) != 2 {
		t.Fatalf("%d forms, want the social buttons apart from the password form", len(f.Forms))
	}
	for k, hf := range f.Forms {
		if len(hf.Hidden) != 1 || hf.Hidden[0].Name != ui.CSRFTokenName {
			t.Errorf("form %d lacks the csrf token: %+v", k, hf.Hidden)
		}
	}
	if g := f.Forms[0].Sections[0].Group; g != ui.GroupOIDC {
		t.Errorf("first form is %q", g)
	}
	var names []string
	for _, s := range f.Forms[1].Sections {
		for _, fl := range s.Fields {
			names = append(names, fl.Name+":"+fl.Autocomplete)
		}
	}
	if strings.Join(names, " ") != "identifier:username password:current-password method:" {
		t.Errorf("password form fields %v", names)
	}
}

func TestErrorsFocusAndDescribeTheirField(t *testing.T) {
	c := loginContainer()
	c.AddNodeMessage("password", ui.ErrInvalidCredentials())
	f, err := buildForm(c, "login", testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range f.Fields {
		switch fl.Name {
		case "password":
			if !fl.HasError || !fl.Autofocus {
				t.Errorf("password: %+v", fl)
			}
		case "identifier":
			if fl.Autofocus {
				t.Error("the identifier took the focus from the field with the error")
			}
		}
	}
}

func TestOnlyInlineImagesAreTrustedAsURLs(t *testing.T) {
	png := "data:image/png;base64,iVBORw0KGgo="
	for src, trusted := range map[string]bool{
		png:                                  true,
		"javascript:alert(1)":                false,
		"data:text/html;base64,PHNjcmlwdD4=": false,
		"data:image/png;base64,x\" onerror=": false,
	} {
		raw, _ := json.Marshal(map[string]any{"src": src, "id": "qr", "width": 256, "height": 256, "node_type": "img"})
		var attrs map[string]any
		_ = json.Unmarshal(raw, &attrs)
		fl := buildField(wireNode{Type: ui.TypeImage, Attributes: attrs}, 0, "settings", testCatalog(t))
		if got := fl.SrcURL != template.URL(""); got != trusted {
			t.Errorf("%q trusted = %v, want %v", src, got, trusted)
		}
	}
}
