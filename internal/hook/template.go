package hook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"

	"github.com/hoplite-id/hoplite/internal/httpclient"
)

// maxTemplateSize caps a body template.
const maxTemplateSize = 1 << 20

// errCancel reports a template that evaluated `error "cancel"`: the hook is
// skipped without failing.
var errCancel = errors.New("web hook cancelled by its body template")

// template is a parsed body template. Its AST is only read during
// evaluation, so one template serves concurrent hooks.
type template struct {
	location string // redacted, for messages
	node     ast.Node
	// files tells whether imports may read local files: only templates
	// that are local files themselves may import (relative to themselves);
	// a base64 or remote template cannot read the server's files.
	files bool
}

// render evaluates the template with ctx (JSON) as its top-level argument
// and returns the resulting JSON document.
func (t *template) render(ctx []byte) ([]byte, error) {
	vm := jsonnet.MakeVM()
	if t.files {
		vm.Importer(&jsonnet.FileImporter{})
	} else {
		vm.Importer(&jsonnet.MemoryImporter{Data: map[string]jsonnet.Contents{}})
	}
	vm.TLACode("ctx", string(ctx))
	out, err := vm.Evaluate(t.node)
	if err != nil {
		if isCancel(err) {
			return nil, errCancel
		}
		return nil, fmt.Errorf("evaluating body template %s: %w", t.location, err)
	}
	return []byte(out), nil
}

func isCancel(err error) bool {
	var re jsonnet.RuntimeError
	if errors.As(err, &re) {
		return re.Msg == "cancel"
	}
	var rp *jsonnet.RuntimeError
	return errors.As(err, &rp) && rp != nil && rp.Msg == "cancel"
}

// templateCache loads and parses each template location once. A location
// that failed to load is tried again the next time.
type templateCache struct {
	client *http.Client
	logger *slog.Logger

	mu      sync.Mutex
	entries map[string]*templateEntry
}

type templateEntry struct {
	mu sync.Mutex // held while loading, so a location is fetched once
	t  *template
}

func newTemplateCache(client *http.Client, logger *slog.Logger) *templateCache {
	return &templateCache{client: client, logger: logger, entries: map[string]*templateEntry{}}
}

func (c *templateCache) get(ctx context.Context, location string) (*template, error) {
	c.mu.Lock()
	e, ok := c.entries[location]
	if !ok {
		e = &templateEntry{}
		c.entries[location] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.t != nil {
		return e.t, nil
	}
	t, err := c.load(ctx, location)
	if err != nil {
		return nil, err
	}
	e.t = t
	return t, nil
}

func (c *templateCache) load(ctx context.Context, location string) (*template, error) {
	redacted := httpclient.Redact(location)
	doc, err := httpclient.Fetch(ctx, c.client, location, maxTemplateSize)
	if err != nil {
		return nil, fmt.Errorf("loading body template %s: %w", redacted, err)
	}
	if doc.Deprecated {
		c.logger.Warn("a web hook body given as a bare file path is deprecated; use a file:// URL", "body", redacted)
	}
	// The file name given to the parser is where relative imports of a
	// file template are resolved from.
	name := redacted
	if doc.Path != "" {
		if abs, err := filepath.Abs(doc.Path); err == nil {
			name = abs
		}
	}
	node, err := jsonnet.SnippetToAST(name, string(doc.Data))
	if err != nil {
		return nil, fmt.Errorf("parsing body template %s: %w", redacted, err)
	}
	return &template{location: redacted, node: node, files: doc.Path != ""}, nil
}
