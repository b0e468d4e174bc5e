package schema

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MaxDocumentSize caps the size of a schema document.
const MaxDocumentSize = 4 << 20 // 4 MiB

// defaultHTTPTimeout applies when Load is given no HTTP client.
const defaultHTTPTimeout = 30 * time.Second

// fetcher loads schema documents. It also serves as the compiler's loader for
// references to other documents (file and http(s) only).
type fetcher struct {
	ctx    context.Context
	client *http.Client
}

// fetchSource returns the document of src and the base URL for resolving its
// relative references.
func (f *fetcher) fetchSource(src Source) ([]byte, string, error) {
	u := strings.TrimSpace(src.URL)
	if u == "" {
		return nil, "", errors.New("no url is configured")
	}
	scheme, rest, hasScheme := strings.Cut(u, "://")
	if !hasScheme {
		data, err := readFile(u)
		return data, fileLocation(u), err
	}
	switch strings.ToLower(scheme) {
	case "base64":
		data, err := decodeBase64(rest)
		return data, memoryLocation(src.ID), err
	case "file":
		path, err := filePath(u)
		if err != nil {
			return nil, "", err
		}
		data, err := readFile(path)
		return data, fileLocation(path), err
	case "http", "https":
		data, err := f.get(u)
		loc, _, _ := strings.Cut(u, "#")
		return data, loc, err
	default:
		return nil, "", fmt.Errorf("unsupported url scheme %q (use file, base64, http or https)", scheme)
	}
}

// Load implements jsonschema.URLLoader for referenced documents.
func (f *fetcher) Load(loc string) (any, error) {
	var (
		data []byte
		err  error
	)
	scheme, _, _ := strings.Cut(loc, "://")
	switch strings.ToLower(scheme) {
	case "file":
		var path string
		if path, err = filePath(loc); err == nil {
			data, err = readFile(path)
		}
	case "http", "https":
		data, err = f.get(loc)
	default:
		return nil, fmt.Errorf("references to %q are not supported", scheme)
	}
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(data))
}

func filePath(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("invalid file url: %v", err)
	}
	switch {
	case p.Opaque != "":
		return p.Opaque, nil
	case p.Host != "" && p.Host != "localhost":
		// file://relative/path.json or file://./path.json
		return p.Host + p.Path, nil
	case p.Path == "":
		return "", errors.New("invalid file url: no path")
	}
	return p.Path, nil
}

func readFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readCapped(fh)
}

func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("the document exceeds %d bytes", MaxDocumentSize)
	}
	return data, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if base64.StdEncoding.DecodedLen(len(s)) > MaxDocumentSize+3 {
		return nil, fmt.Errorf("the document exceeds %d bytes", MaxDocumentSize)
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if data, err := enc.DecodeString(s); err == nil {
			if len(data) > MaxDocumentSize {
				return nil, fmt.Errorf("the document exceeds %d bytes", MaxDocumentSize)
			}
			return data, nil
		}
	}
	return nil, errors.New("the base64 payload is not valid standard or URL-safe base64")
}

func (f *fetcher) get(u string) ([]byte, error) {
	client := f.client
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/schema+json, application/json;q=0.9, */*;q=0.1")
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			// Report the cause without repeating a possibly credential-bearing URL.
			return nil, fmt.Errorf("GET %s failed: %v", redactURL(u), uerr.Err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("GET %s returned HTTP status %d", redactURL(u), resp.StatusCode)
	}
	return readCapped(resp.Body)
}
