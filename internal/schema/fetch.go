package schema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hoplite-id/hoplite/internal/httpclient"
)

// MaxDocumentSize caps the size of a schema document.
const MaxDocumentSize = 4 << 20 // 4 MiB

// defaultHTTPTimeout applies when Load is given no HTTP client.
const defaultHTTPTimeout = 30 * time.Second

// fetcher loads schema documents (through httpclient.Fetch, which every
// document-loading part of Hoplite shares). It also serves as the compiler's
// loader for references to other documents (file and http(s) only).
type fetcher struct {
	ctx    context.Context
	client *http.Client
}

func (f *fetcher) httpClient() *http.Client {
	if f.client == nil {
		return &http.Client{Timeout: defaultHTTPTimeout}
	}
	return f.client
}

// fetchSource returns the document of src and the base URL for resolving its
// relative references.
func (f *fetcher) fetchSource(src Source) ([]byte, string, error) {
	u := strings.TrimSpace(src.URL)
	if u == "" {
		return nil, "", errors.New("no url is configured")
	}
	doc, err := httpclient.Fetch(f.ctx, f.httpClient(), u, MaxDocumentSize)
	if err != nil {
		return nil, "", errors.New(httpclient.Unwrap(err).Error())
	}
	scheme, _, _ := strings.Cut(u, "://")
	switch {
	case doc.Path != "":
		return doc.Data, fileLocation(doc.Path), nil
	case strings.EqualFold(scheme, "base64"):
		return doc.Data, memoryLocation(src.ID), nil
	default:
		loc, _, _ := strings.Cut(u, "#")
		return doc.Data, loc, nil
	}
}

// Load implements jsonschema.URLLoader for referenced documents.
func (f *fetcher) Load(loc string) (any, error) {
	scheme, _, _ := strings.Cut(loc, "://")
	switch strings.ToLower(scheme) {
	case "file", "http", "https":
	default:
		return nil, fmt.Errorf("references to %q are not supported", scheme)
	}
	doc, err := httpclient.Fetch(f.ctx, f.httpClient(), loc, MaxDocumentSize)
	if err != nil {
		return nil, errors.New(httpclient.Unwrap(err).Error())
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(doc.Data))
}
