package selfui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"strings"

	"github.com/hoplite-id/hoplite/internal/ui"
)

// The pages render a flow's form from its wire shape (the JSON every
// self-service UI receives), not from Go types: a node type, group or
// message that a future method adds renders without a change here.

// wireText is a message or label as the API sends it.
type wireText struct {
	ID      int64          `json:"id"`
	Text    string         `json:"text"`
	Type    string         `json:"type"`
	Context map[string]any `json:"context"`
}

type wireNode struct {
	Type       string         `json:"type"`
	Group      string         `json:"group"`
	Attributes map[string]any `json:"attributes"`
	Messages   []wireText     `json:"messages"`
	Meta       struct {
		Label *wireText `json:"label"`
	} `json:"meta"`
}

type wireUI struct {
	Action   string     `json:"action"`
	Method   string     `json:"method"`
	Nodes    []wireNode `json:"nodes"`
	Messages []wireText `json:"messages"`
}

// message is a rendered message.
type message struct {
	ID    int64
	Text  string
	Error bool
	// Items are the parts of a message that lists values (backup codes).
	Items []string
}

// field is one rendered node.
type field struct {
	Kind  string // input, submit, button, hidden, checkbox, img, text, a, script
	Group string
	Name  string
	ID    string // element id, for labels and aria
	Type  string
	Value string
	Label string
	// Checked is a checkbox's state.
	Checked      bool
	Required     bool
	Disabled     bool
	Pattern      string
	Autocomplete string
	OnClick      string
	Messages     []message
	HasError     bool
	Autofocus    bool
	// img, a, script, text
	Src, Href           string
	Width, Height       int
	Integrity, CrossOr  string
	ReferrerPolicy, Typ string
	Async               bool
	Text                message
	// SrcURL is Src when it is an inline image (a QR code), which the
	// template must not rewrite; other URLs stay plain strings and are
	// checked by html/template.
	SrcURL template.URL
	// Nonce lets a script node run under the page's Content-Security-Policy.
	Nonce string
}

// form is a rendered flow: its messages and the HTML forms its nodes make.
type form struct {
	Action   string
	Method   string
	Messages []message
	Fields   []field
	// Forms are the HTML forms: consecutive groups with inputs share one;
	// a group of buttons alone (social sign-in, backup-code actions) gets
	// its own, so that Enter in a text field never presses one of them.
	// Hidden inputs of the default group (csrf_token) go into every form.
	Forms []htmlForm
}

type htmlForm struct {
	Hidden   []field
	Sections []section
}

type section struct {
	Group  string
	Fields []field
}

// buildForm turns a flow's ui container into the page's form. kind is the
// flow kind, used to pick autocomplete hints.
func buildForm(c *ui.Container, kind string, cat *Catalog) (*form, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var w wireUI
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	f := &form{Action: w.Action, Method: strings.ToUpper(w.Method)}
	if f.Method == "" {
		f.Method = "POST"
	}
	for _, m := range w.Messages {
		f.Messages = append(f.Messages, cat.message(m))
	}
	focused := false
	for k, n := range w.Nodes {
		fl := buildField(n, k, kind, cat)
		if fl.HasError && !focused && fl.Kind == "input" {
			fl.Autofocus, focused = true, true
		}
		f.Fields = append(f.Fields, fl)
	}
	if !focused {
		// Without errors, the first visible text input takes the focus.
		for k := range f.Fields {
			if f.Fields[k].Kind == "input" && f.Fields[k].Value == "" {
				f.Fields[k].Autofocus = true
				break
			}
		}
	}
	var shared []field
	var sections []section
	for _, fl := range f.Fields {
		if fl.Kind == "hidden" && fl.Group == ui.GroupDefault {
			shared = append(shared, fl)
			continue
		}
		if n := len(sections); n == 0 || sections[n-1].Group != fl.Group {
			sections = append(sections, section{Group: fl.Group})
		}
		s := &sections[len(sections)-1]
		s.Fields = append(s.Fields, fl)
	}
	buttonsOnly := func(s section) bool {
		for _, fl := range s.Fields {
			if fl.Kind != "submit" && fl.Kind != "hidden" {
				return false
			}
		}
		return true
	}
	for k, s := range sections {
		if buttonsOnly(s) || k == 0 || buttonsOnly(sections[k-1]) {
			f.Forms = append(f.Forms, htmlForm{Hidden: shared})
		}
		last := &f.Forms[len(f.Forms)-1]
		last.Sections = append(last.Sections, s)
	}
	if len(f.Forms) == 0 {
		f.Forms = []htmlForm{{Hidden: shared}}
	}
	return f, nil
}

func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case nil:
		return ""
	case bool:
		if v {
			return "true"
		}
		return "false"
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", v), "0"), ".")
	default:
		raw, _ := json.Marshal(v)
		return string(raw)
	}
}

func num(m map[string]any, k string) int {
	if v, ok := m[k].(float64); ok {
		return int(v)
	}
	return 0
}

func buildField(n wireNode, index int, kind string, cat *Catalog) field {
	a := n.Attributes
	fl := field{Group: n.Group, Kind: n.Type}
	if n.Meta.Label != nil {
		fl.Label = cat.message(*n.Meta.Label).Text
	}
	for _, m := range n.Messages {
		msg := cat.message(m)
		fl.Messages = append(fl.Messages, msg)
		fl.HasError = fl.HasError || msg.Error
	}
	switch n.Type {
	case ui.TypeInput:
		fl.Name, fl.Type, fl.Value = str(a, "name"), str(a, "type"), str(a, "value")
		fl.Required, _ = a["required"].(bool)
		fl.Disabled, _ = a["disabled"].(bool)
		fl.Pattern, fl.OnClick = str(a, "pattern"), str(a, "onclick")
		fl.ID = fmt.Sprintf("f%d-%s", index, sanitizeID(fl.Name))
		switch fl.Type {
		case ui.InputHidden:
			fl.Kind = "hidden"
		case ui.InputSubmit:
			fl.Kind = "submit"
		case ui.InputButton:
			fl.Kind = "button"
		case ui.InputCheckbox:
			fl.Kind = "checkbox"
			fl.Checked = fl.Value == "true"
		default:
			fl.Kind = "input"
			fl.Autocomplete = autocomplete(fl.Name, fl.Type, kind)
		}
	case ui.TypeImage:
		fl.Src, fl.ID = str(a, "src"), str(a, "id")
		fl.Width, fl.Height = num(a, "width"), num(a, "height")
		for _, prefix := range []string{"data:image/png;base64,", "data:image/jpeg;base64,", "data:image/gif;base64,"} {
			if strings.HasPrefix(fl.Src, prefix) && base64Body.MatchString(fl.Src[len(prefix):]) {
				fl.SrcURL = template.URL(fl.Src)
			}
		}
		fl.Kind = "img"
	case ui.TypeAnchor:
		fl.Href, fl.ID = str(a, "href"), str(a, "id")
		if t, ok := a["title"].(map[string]any); ok {
			fl.Label = cat.message(textOf(t)).Text
		}
		fl.Kind = "a"
	case ui.TypeText:
		fl.ID = str(a, "id")
		if t, ok := a["text"].(map[string]any); ok {
			fl.Text = cat.message(textOf(t))
		}
		fl.Kind = "text"
	case ui.TypeScript:
		fl.Src, fl.ID = str(a, "src"), str(a, "id")
		fl.Integrity, fl.CrossOr = str(a, "integrity"), str(a, "crossorigin")
		fl.ReferrerPolicy, fl.Typ = str(a, "referrerpolicy"), str(a, "type")
		fl.Async, _ = a["async"].(bool)
		fl.Kind = "script"
	default:
		fl.Kind = "unknown"
	}
	return fl
}

var base64Body = regexp.MustCompile(`^[A-Za-z0-9+/]*={0,2}$`)

func textOf(m map[string]any) wireText {
	raw, _ := json.Marshal(m)
	var t wireText
	_ = json.Unmarshal(raw, &t)
	return t
}

func sanitizeID(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// autocomplete picks the hint password managers and phones use.
func autocomplete(name, typ, kind string) string {
	switch {
	case name == "identifier":
		return "username"
	case name == "password" && kind == "login":
		return "current-password"
	case name == "password":
		return "new-password"
	case name == "totp_code" || name == "lookup_secret":
		return "one-time-code"
	case typ == "email" || strings.HasSuffix(name, ".email"):
		return "email"
	case strings.HasSuffix(name, "name.first"):
		return "given-name"
	case strings.HasSuffix(name, "name.last"):
		return "family-name"
	}
	return "off"
}
