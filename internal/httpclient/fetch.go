package httpclient

import (
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
)

// DefaultMaxDocumentSize caps documents loaded by Fetch when it is given no
// limit.
const DefaultMaxDocumentSize = 1 << 20 // 1 MiB

// DefaultFetchTimeout bounds an http(s) fetch when ctx has no deadline.
const DefaultFetchTimeout = 10 * time.Second

// Document is a document loaded by Fetch.
type Document struct {
	Data []byte
	// Path is the local file the document was read from ("" for base64
	// and http(s) locations).
	Path string
	// Deprecated reports a location given as a bare file path instead of a
	// file:// URL.
	Deprecated bool
}

// Fetch loads the document at location: file:// URLs (file:///abs/path,
// file://relative/path), base64:// (standard or URL-safe, padded or not),
// http:// and https:// (GET with client, which must not be nil; a 2xx
// status is required), or a bare file path (accepted, but reported as
// deprecated). Documents larger than maxSize bytes (DefaultMaxDocumentSize
// when maxSize <= 0) are refused. Error texts never repeat a base64 payload,
// a query string or user information of location.
func Fetch(ctx context.Context, client *http.Client, location string, maxSize int64) (*Document, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxDocumentSize
	}
	loc := strings.TrimSpace(location)
	if loc == "" {
		return nil, errors.New("no location is given")
	}
	scheme, rest, hasScheme := strings.Cut(loc, "://")
	if !hasScheme {
		data, err := readFile(loc, maxSize)
		return &Document{Data: data, Path: loc, Deprecated: true}, err
	}
	switch strings.ToLower(scheme) {
	case "base64":
		data, err := decodeBase64(rest, maxSize)
		return &Document{Data: data}, err
	case "file":
		path, err := filePath(loc)
		if err != nil {
			return nil, err
		}
		data, err := readFile(path, maxSize)
		return &Document{Data: data, Path: path}, err
	case "http", "https":
		data, err := get(ctx, client, loc, maxSize)
		return &Document{Data: data}, err
	default:
		return nil, fmt.Errorf("unsupported location scheme %q (use file, base64, http or https)", scheme)
	}
}

// Redact shortens a location for logs and error messages: a base64 payload
// is left out, and so are the user information, query and fragment of URLs.
func Redact(location string) string {
	if strings.HasPrefix(strings.ToLower(location), "base64://") {
		return "base64://…"
	}
	u, err := url.Parse(location)
	if err != nil || u.Scheme == "" {
		if i := strings.IndexAny(location, "?#"); i >= 0 {
			return location[:i]
		}
		return location
	}
	u.User = nil
	u.RawQuery, u.ForceQuery = "", false
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

func filePath(loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("invalid file URL %s: %v", Redact(loc), err)
	}
	switch {
	case u.Opaque != "":
		return u.Opaque, nil
	case u.Host != "" && u.Host != "localhost":
		// file://relative/path or file://./path
		return u.Host + u.Path, nil
	case u.Path == "":
		return "", fmt.Errorf("invalid file URL %s: no path", Redact(loc))
	}
	return u.Path, nil
}

func readFile(path string, maxSize int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readCapped(fh, maxSize)
}

func readCapped(r io.Reader, maxSize int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("the document exceeds %d bytes", maxSize)
	}
	return data, nil
}

func decodeBase64(s string, maxSize int64) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if int64(base64.StdEncoding.DecodedLen(len(s))) > maxSize+3 {
		return nil, fmt.Errorf("the document exceeds %d bytes", maxSize)
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if data, err := enc.DecodeString(s); err == nil {
			if int64(len(data)) > maxSize {
				return nil, fmt.Errorf("the document exceeds %d bytes", maxSize)
			}
			return data, nil
		}
	}
	return nil, errors.New("the base64 payload is not valid standard or URL-safe base64")
}

func get(ctx context.Context, client *http.Client, loc string, maxSize int64) ([]byte, error) {
	if client == nil {
		return nil, errors.New("no HTTP client to fetch " + Redact(loc))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFetchTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %s", Redact(loc))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s failed: %v", Redact(loc), Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("GET %s returned HTTP status %d", Redact(loc), resp.StatusCode)
	}
	return readCapped(resp.Body, maxSize)
}

// Unwrap returns the cause of a client error without the *url.Error
// wrapper, whose text repeats the whole (possibly credential-bearing) URL.
func Unwrap(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
