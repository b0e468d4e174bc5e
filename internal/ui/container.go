package ui

import (
	"encoding/json"
	"sort"
)

// Container is a flow's form.
type Container struct {
	Action   string `json:"action"`
	Method   string `json:"method"`
	Nodes    []Node `json:"nodes"`
	Messages []Text `json:"messages,omitempty"`
}

// NewContainer starts an empty POST form.
func NewContainer(action string) *Container {
	return &Container{Action: action, Method: "POST", Nodes: []Node{}}
}

// MarshalJSON keeps nodes an array even when empty.
func (c Container) MarshalJSON() ([]byte, error) {
	type plain Container
	if c.Nodes == nil {
		c.Nodes = []Node{}
	}
	return json.Marshal(plain(c))
}

// CSRFTokenName is the name of the anti-CSRF input.
const CSRFTokenName = "csrf_token"

// SetCSRF sets (or adds) the csrf_token node.
func (c *Container) SetCSRF(token string) {
	c.Upsert(NewInput(CSRFTokenName, token, GroupDefault, InputHidden, Required()))
}

// Find returns the node with the given name/id in group ("" = any group).
func (c *Container) Find(name, group string) *Node {
	for k := range c.Nodes {
		if c.Nodes[k].ID() == name && (group == "" || c.Nodes[k].Group == group) {
			return &c.Nodes[k]
		}
	}
	return nil
}

// Upsert replaces the node with the same name and group, or appends it.
func (c *Container) Upsert(n Node) {
	if old := c.Find(n.ID(), n.Group); old != nil {
		*old = n
		return
	}
	c.Nodes = append(c.Nodes, n)
}

// Append adds nodes at the end.
func (c *Container) Append(nodes ...Node) { c.Nodes = append(c.Nodes, nodes...) }

// RemoveGroup drops every node of a group.
func (c *Container) RemoveGroup(group string) {
	out := c.Nodes[:0]
	for _, n := range c.Nodes {
		if n.Group != group {
			out = append(out, n)
		}
	}
	c.Nodes = out
}

// Remove drops nodes by name (in any group).
func (c *Container) Remove(names ...string) {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	out := c.Nodes[:0]
	for _, n := range c.Nodes {
		if !drop[n.ID()] {
			out = append(out, n)
		}
	}
	c.Nodes = out
}

// ResetMessages clears the container's and every node's messages.
func (c *Container) ResetMessages() {
	c.Messages = nil
	for k := range c.Nodes {
		c.Nodes[k].Messages = []Text{}
	}
}

// AddMessage adds a container-level message.
func (c *Container) AddMessage(t Text) { c.Messages = append(c.Messages, t) }

// AddNodeMessage attaches a message to the input named name; when there is
// no such node, a text input carrying the message is appended (group
// default), so the message is never lost.
func (c *Container) AddNodeMessage(name string, t Text) {
	if n := c.Find(name, ""); n != nil {
		n.Messages = append(n.Messages, t)
		return
	}
	n := NewInput(name, nil, GroupDefault, InputText)
	n.Messages = []Text{t}
	c.Nodes = append(c.Nodes, n)
}

// SetValue sets the value of every input named name.
func (c *Container) SetValue(name string, v any) {
	for k := range c.Nodes {
		if in := c.Nodes[k].Input(); in != nil && in.Name == name {
			in.Value = v
		}
	}
}

// ClearSecrets removes the values of inputs that must never be echoed back
// to a client. The value is dropped, not set to "", so the re-rendered node
// has no "value" key, as Kratos' node reset leaves it.
func (c *Container) ClearSecrets(names ...string) {
	for _, name := range names {
		for k := range c.Nodes {
			if in := c.Nodes[k].Input(); in != nil && in.Name == name && in.Type != InputSubmit && in.Type != InputHidden {
				in.Value = nil
			}
		}
	}
}

// Node names that the flow kinds' sort orders place (Kratos' UIs expect
// them in these positions): the login identifier and the password input.
const (
	NodeIdentifier = "identifier"
	NodePassword   = "password"
)

// SortOrder describes how a flow kind orders its nodes: by group, then by
// name priority within the group (names listed in First come first, in that
// order; then fields in schema order; everything else keeps its relative
// order), with inputs named "method" last in their group.
type SortOrder struct {
	Groups []string
	First  []string
	// SchemaOrder ranks trait fields ("traits.email" …) by schema position;
	// registration inserts "password" after the first trait.
	SchemaOrder []string
}

// Sort orders the nodes. The sort is stable.
func (c *Container) Sort(o SortOrder) {
	groupRank := map[string]int{}
	for k, g := range o.Groups {
		groupRank[g] = k
	}
	first := map[string]int{}
	for k, n := range o.First {
		first[n] = k
	}
	schemaRank := map[string]int{}
	for k, n := range o.SchemaOrder {
		schemaRank[n] = k
	}
	gr := func(n *Node) int {
		if r, ok := groupRank[n.Group]; ok {
			return r
		}
		return len(o.Groups)
	}
	nameRank := func(n *Node) (int, int) {
		id := n.ID()
		if id == "method" {
			return 3, 0
		}
		if r, ok := first[id]; ok {
			return 0, r
		}
		if r, ok := schemaRank[id]; ok {
			return 1, r
		}
		return 2, 0
	}
	sort.SliceStable(c.Nodes, func(i, j int) bool {
		a, b := &c.Nodes[i], &c.Nodes[j]
		if ga, gb := gr(a), gr(b); ga != gb {
			return ga < gb
		}
		ca, ra := nameRank(a)
		cb, rb := nameRank(b)
		if ca != cb {
			return ca < cb
		}
		return ra < rb
	})
}
