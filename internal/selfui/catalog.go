package selfui

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

// The message catalog maps message ids (the wire contract every Kratos UI
// knows) to the texts the pages show. locales/en.json holds the English
// texts; a translator copies it to locales/<lang>.json and translates the
// values. A text may name context values in braces ({provider}); ids
// missing from the catalog show the server's own text.

//go:embed locales/*.json
var localeFiles embed.FS

// Catalog is one language's texts by message id.
type Catalog struct {
	texts map[int64]string
}

// LoadCatalog reads locales/<lang>.json.
func LoadCatalog(lang string) (*Catalog, error) {
	raw, err := fs.ReadFile(localeFiles, "locales/"+lang+".json")
	if err != nil {
		return nil, fmt.Errorf("selfui: no catalog for %q: %w", lang, err)
	}
	var byID map[string]string
	if err := json.Unmarshal(raw, &byID); err != nil {
		return nil, fmt.Errorf("selfui: locales/%s.json: %w", lang, err)
	}
	c := &Catalog{texts: map[int64]string{}}
	for k, v := range byID {
		var id int64
		if _, err := fmt.Sscan(k, &id); err != nil {
			return nil, fmt.Errorf("selfui: locales/%s.json: key %q is not a message id", lang, k)
		}
		c.texts[id] = v
	}
	return c, nil
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// message renders a wire message with the catalog's text for its id.
func (c *Catalog) message(t wireText) message {
	m := message{ID: t.ID, Text: t.Text, Error: t.Type == "error"}
	if tmpl, ok := c.texts[t.ID]; ok && tmpl != "" {
		m.Text = placeholder.ReplaceAllStringFunc(tmpl, func(p string) string {
			v, ok := t.Context[strings.Trim(p, "{}")]
			if !ok {
				return p
			}
			return fmt.Sprint(v)
		})
	}
	// A message listing values (backup codes) carries them as messages in
	// its context.
	if list, ok := t.Context["secrets"].([]any); ok {
		for _, it := range list {
			if sub, ok := it.(map[string]any); ok {
				s := textOf(sub)
				if s.ID == 1050014 {
					m.Items = append(m.Items, c.message(s).Text)
				} else {
					m.Items = append(m.Items, s.Text)
				}
			}
		}
	}
	return m
}

// ids lists the catalog's ids, sorted (for tests).
func (c *Catalog) ids() []int64 {
	out := make([]int64, 0, len(c.texts))
	for id := range c.texts {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
