package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"

	"github.com/hoplite-id/hoplite/internal/httpclient"
)

// maxMapperSize caps a Jsonnet mapper document.
const maxMapperSize = 1 << 20

// mapper turns claims into traits with a provider's Jsonnet (mapper_url:
// file://, http(s):// or base64://), which reads std.extVar('claims') and
// yields {identity: {traits: …}}.
type mapper struct {
	location string
	client   *http.Client

	mu    sync.Mutex
	node  ast.Node
	files bool
}

// load parses the mapper once; a failure is retried on the next use.
func (m *mapper) load(ctx context.Context) (ast.Node, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.node != nil {
		return m.node, m.files, nil
	}
	redacted := httpclient.Redact(m.location)
	doc, err := httpclient.Fetch(ctx, m.client, m.location, maxMapperSize)
	if err != nil {
		return nil, false, fmt.Errorf("loading the claims mapper %s: %w", redacted, err)
	}
	name := redacted
	if doc.Path != "" {
		if abs, err := filepath.Abs(doc.Path); err == nil {
			name = abs
		}
	}
	node, err := jsonnet.SnippetToAST(name, string(doc.Data))
	if err != nil {
		return nil, false, fmt.Errorf("parsing the claims mapper %s: %w", redacted, err)
	}
	// Only a mapper that is a local file itself may import local files.
	m.node, m.files = node, doc.Path != ""
	return m.node, m.files, nil
}

// traits evaluates the mapper for claims.
func (m *mapper) traits(ctx context.Context, claims *Claims) (json.RawMessage, error) {
	node, files, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	vm := jsonnet.MakeVM()
	if files {
		vm.Importer(&jsonnet.FileImporter{})
	} else {
		vm.Importer(&jsonnet.MemoryImporter{Data: map[string]jsonnet.Contents{}})
	}
	vm.ExtCode("claims", string(raw))
	out, err := vm.Evaluate(node)
	if err != nil {
		return nil, fmt.Errorf("evaluating the claims mapper %s: %w", httpclient.Redact(m.location), err)
	}
	var doc struct {
		Identity struct {
			Traits json.RawMessage `json:"traits"`
		} `json:"identity"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Identity.Traits) == 0 || string(doc.Identity.Traits) == "null" {
		return nil, fmt.Errorf("the claims mapper %s must yield an object with identity.traits", httpclient.Redact(m.location))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc.Identity.Traits); err != nil {
		return nil, err
	}
	return compact.Bytes(), nil
}

// mergeTraits lays the submitted traits over the mapped ones (objects are
// merged key by key; the submission wins).
func mergeTraits(mapped, submitted json.RawMessage) json.RawMessage {
	if len(submitted) == 0 {
		return mapped
	}
	var a, b map[string]any
	if json.Unmarshal(mapped, &a) != nil || json.Unmarshal(submitted, &b) != nil {
		return mapped
	}
	out, err := json.Marshal(mergeMaps(a, b))
	if err != nil {
		return mapped
	}
	return out
}

func mergeMaps(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeMaps(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}
