// Package ui models the form every self-service flow carries: a container
// with an action URL, a method, nodes (inputs, texts, images, anchors,
// scripts) grouped by the method they belong to, and messages. Self-service
// UIs render these generically, so names, groups, types and message ids must
// match what Kratos emits.
package ui

import (
	"encoding/json"
	"fmt"
)

// Node types.
const (
	TypeInput  = "input"
	TypeText   = "text"
	TypeImage  = "img"
	TypeAnchor = "a"
	TypeScript = "script"
)

// Node groups.
const (
	GroupDefault      = "default"
	GroupPassword     = "password"
	GroupOIDC         = "oidc"
	GroupProfile      = "profile"
	GroupLink         = "link"
	GroupTOTP         = "totp"
	GroupLookupSecret = "lookup_secret"
	GroupWebAuthn     = "webauthn"
)

// Input types.
const (
	InputText     = "text"
	InputPassword = "password"
	InputNumber   = "number"
	InputCheckbox = "checkbox"
	InputHidden   = "hidden"
	InputEmail    = "email"
	InputSubmit   = "submit"
	InputButton   = "button"
)

// Text is a message or a label: an id that UIs may translate, a default
// English text, a type (info or error) and optional context values.
type Text struct {
	ID   int64  `json:"id"`
	Text string `json:"text"`
	Type string `json:"type"`
	// Context is omitted when nil; an empty map is emitted as {} (some
	// messages carry an explicit empty context in Kratos).
	Context any `json:"context,omitempty"`
}

// Message types.
const (
	Info  = "info"
	Error = "error"
)

// Meta holds a node's label.
type Meta struct {
	Label *Text `json:"label,omitempty"`
}

// Node is one element of a flow's form.
type Node struct {
	Type       string     `json:"type"`
	Group      string     `json:"group"`
	Attributes Attributes `json:"attributes"`
	Messages   []Text     `json:"messages"`
	Meta       Meta       `json:"meta"`
}

// Attributes are the type-specific attributes of a node.
type Attributes interface {
	// ID is the input name or element id that identifies the node.
	ID() string
	nodeType() string
}

// InputAttributes describe an input element.
type InputAttributes struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Value is omitted only when nil; "", false and 0 are kept.
	Value    any    `json:"value,omitempty"`
	Required bool   `json:"required,omitempty"`
	Label    *Text  `json:"label,omitempty"`
	Pattern  string `json:"pattern,omitempty"`
	Disabled bool   `json:"disabled"`
	OnClick  string `json:"onclick,omitempty"`
	NodeType string `json:"node_type"`
}

func (a *InputAttributes) ID() string       { return a.Name }
func (a *InputAttributes) nodeType() string { return TypeInput }

// TextAttributes describe a text element (e.g. a secret to write down).
type TextAttributes struct {
	Text     Text   `json:"text"`
	IDValue  string `json:"id"`
	NodeType string `json:"node_type"`
}

func (a *TextAttributes) ID() string       { return a.IDValue }
func (a *TextAttributes) nodeType() string { return TypeText }

// ImageAttributes describe an image (e.g. a QR code).
type ImageAttributes struct {
	Src      string `json:"src"`
	IDValue  string `json:"id"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	NodeType string `json:"node_type"`
}

func (a *ImageAttributes) ID() string       { return a.IDValue }
func (a *ImageAttributes) nodeType() string { return TypeImage }

// AnchorAttributes describe a link.
type AnchorAttributes struct {
	Href     string `json:"href"`
	Title    Text   `json:"title"`
	IDValue  string `json:"id"`
	NodeType string `json:"node_type"`
}

func (a *AnchorAttributes) ID() string       { return a.IDValue }
func (a *AnchorAttributes) nodeType() string { return TypeAnchor }

// ScriptAttributes describe a script element.
type ScriptAttributes struct {
	Src            string `json:"src"`
	Async          bool   `json:"async"`
	ReferrerPolicy string `json:"referrerpolicy"`
	CrossOrigin    string `json:"crossorigin"`
	Integrity      string `json:"integrity"`
	Type           string `json:"type"`
	IDValue        string `json:"id"`
	Nonce          string `json:"nonce"`
	NodeType       string `json:"node_type"`
}

func (a *ScriptAttributes) ID() string       { return a.IDValue }
func (a *ScriptAttributes) nodeType() string { return TypeScript }

// UnmarshalJSON decodes the attributes matching the node's type.
func (n *Node) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type       string          `json:"type"`
		Group      string          `json:"group"`
		Attributes json.RawMessage `json:"attributes"`
		Messages   []Text          `json:"messages"`
		Meta       Meta            `json:"meta"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var attrs Attributes
	switch raw.Type {
	case TypeInput:
		attrs = &InputAttributes{}
	case TypeText:
		attrs = &TextAttributes{}
	case TypeImage:
		attrs = &ImageAttributes{}
	case TypeAnchor:
		attrs = &AnchorAttributes{}
	case TypeScript:
		attrs = &ScriptAttributes{}
	default:
		return fmt.Errorf("ui: unknown node type %q", raw.Type)
	}
	if err := json.Unmarshal(raw.Attributes, attrs); err != nil {
		return err
	}
	*n = Node{Type: raw.Type, Group: raw.Group, Attributes: attrs, Messages: raw.Messages, Meta: raw.Meta}
	return nil
}

// MarshalJSON makes sure messages is always an array.
func (n Node) MarshalJSON() ([]byte, error) {
	type plain Node
	if n.Messages == nil {
		n.Messages = []Text{}
	}
	return json.Marshal(plain(n))
}

// Input returns the node's input attributes, or nil for other node types.
func (n *Node) Input() *InputAttributes {
	a, _ := n.Attributes.(*InputAttributes)
	return a
}

// ID is the node's name or id.
func (n *Node) ID() string { return n.Attributes.ID() }

// NewInput builds an input node.
func NewInput(name string, value any, group, inputType string, opts ...InputOption) Node {
	a := &InputAttributes{Name: name, Type: inputType, Value: value, NodeType: TypeInput}
	n := Node{Type: TypeInput, Group: group, Attributes: a, Messages: []Text{}}
	for _, o := range opts {
		o(&n, a)
	}
	return n
}

// InputOption adjusts a new input node.
type InputOption func(*Node, *InputAttributes)

// Required marks the input required.
func Required() InputOption { return func(_ *Node, a *InputAttributes) { a.Required = true } }

// Disabled marks the input disabled.
func Disabled(d bool) InputOption { return func(_ *Node, a *InputAttributes) { a.Disabled = d } }

// Pattern sets an input pattern.
func Pattern(p string) InputOption { return func(_ *Node, a *InputAttributes) { a.Pattern = p } }

// OnClick sets a script to run on click.
func OnClick(js string) InputOption { return func(_ *Node, a *InputAttributes) { a.OnClick = js } }

// WithLabel sets the node's label.
func WithLabel(t Text) InputOption {
	return func(n *Node, _ *InputAttributes) { n.Meta.Label = &t }
}

// NewText builds a text node.
func NewText(id string, text Text, group string) Node {
	return Node{Type: TypeText, Group: group, Attributes: &TextAttributes{Text: text, IDValue: id, NodeType: TypeText}, Messages: []Text{}}
}

// NewImage builds an image node.
func NewImage(id, src string, width, height int, group string, label Text) Node {
	return Node{Type: TypeImage, Group: group, Attributes: &ImageAttributes{Src: src, IDValue: id, Width: width, Height: height, NodeType: TypeImage}, Messages: []Text{}, Meta: Meta{Label: &label}}
}

// NewScript builds a script node.
func NewScript(id, src, integrity, nonce, group string) Node {
	return Node{Type: TypeScript, Group: group, Attributes: &ScriptAttributes{
		Src: src, Async: true, ReferrerPolicy: "no-referrer", CrossOrigin: "anonymous", Integrity: integrity,
		Type: "text/javascript", IDValue: id, Nonce: nonce, NodeType: TypeScript,
	}, Messages: []Text{}}
}
