package passwordpolicy

import (
	"bytes"
	"container/list"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxRangeBody bounds the size of a range response. Real responses, padding
// included, are around 40 KB.
const maxRangeBody = 1 << 20

// suffixLength is the number of hex digits of a SHA-1 digest after the
// 5-digit prefix.
const suffixLength = 35

// suffix is a 35 hex digit hash suffix, stored as 18 bytes (the last nibble
// is zero).
type suffix [18]byte

func parseSuffix(s string) (suffix, error) {
	var out suffix
	if len(s) != suffixLength {
		return out, fmt.Errorf("hash suffix has %d characters, want %d", len(s), suffixLength)
	}
	if _, err := hex.Decode(out[:], []byte(s+"0")); err != nil {
		return out, errors.New("hash suffix is not hexadecimal")
	}
	return out, nil
}

type suffixCount struct {
	suffix suffix
	count  int64
}

// rangeResult holds the non-zero counts of one range response, sorted by
// suffix.
type rangeResult []suffixCount

func (r rangeResult) count(s suffix) int64 {
	i, found := slices.BinarySearchFunc(r, s, func(e suffixCount, s suffix) int {
		return bytes.Compare(e.suffix[:], s[:])
	})
	if !found {
		return 0
	}
	return r[i].count
}

// parseRange parses a range response: lines of "<suffix>:<count>",
// separated by LF or CRLF. Lines with a count of zero are padding and are
// dropped.
func parseRange(body []byte) (rangeResult, error) {
	var out rangeResult
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		sfx, cnt, ok := strings.Cut(line, ":")
		if !ok {
			return nil, errors.New("malformed range response line")
		}
		count, err := strconv.ParseInt(cnt, 10, 64)
		if err != nil || count < 0 {
			return nil, errors.New("malformed count in range response")
		}
		s, err := parseSuffix(sfx)
		if err != nil {
			return nil, fmt.Errorf("malformed range response: %w", err)
		}
		if count > 0 {
			out = append(out, suffixCount{suffix: s, count: count})
		}
	}
	slices.SortFunc(out, func(a, b suffixCount) int { return bytes.Compare(a.suffix[:], b.suffix[:]) })
	return out, nil
}

// fetchRange queries the range API for one 5 hex digit prefix.
func (v *Validator) fetchRange(ctx context.Context, prefix string) (rangeResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.baseURL+"/range/"+prefix, nil)
	if err != nil {
		return nil, err
	}
	// Padding hides the number of real suffixes in the response size.
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", "hoplite-password-policy")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("range API answered with status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRangeBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxRangeBody {
		return nil, fmt.Errorf("range response is larger than %d bytes", maxRangeBody)
	}
	return parseRange(body)
}

// rangeCache is a bounded, expiring LRU cache of range results keyed by
// prefix. Concurrent misses for the same prefix share one fetch.
type rangeCache struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu       sync.Mutex
	lru      *list.List // of *cacheEntry, most recently used first
	entries  map[string]*list.Element
	inflight map[string]*fetchCall
}

type cacheEntry struct {
	prefix  string
	result  rangeResult
	expires time.Time
}

type fetchCall struct {
	done   chan struct{}
	result rangeResult
	err    error
}

func newRangeCache(size int, ttl time.Duration, now func() time.Time) *rangeCache {
	return &rangeCache{
		size:     size,
		ttl:      ttl,
		now:      now,
		lru:      list.New(),
		entries:  make(map[string]*list.Element),
		inflight: make(map[string]*fetchCall),
	}
}

type fetchFunc func(ctx context.Context, prefix string) (rangeResult, error)

// get returns the cached result for prefix or fetches it. The fetch runs
// detached from ctx (bounded by fetchTimeout) so that one caller giving up
// does not fail the others waiting for the same prefix; get itself returns
// as soon as ctx is done.
func (c *rangeCache) get(ctx context.Context, prefix string, fetch fetchFunc) (rangeResult, error) {
	c.mu.Lock()
	if el, ok := c.entries[prefix]; ok {
		e := el.Value.(*cacheEntry)
		if c.now().Before(e.expires) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.result, nil
		}
		c.lru.Remove(el)
		delete(c.entries, prefix)
	}
	call, ok := c.inflight[prefix]
	if !ok {
		call = &fetchCall{done: make(chan struct{})}
		c.inflight[prefix] = call
		go c.run(context.WithoutCancel(ctx), prefix, call, fetch)
	}
	c.mu.Unlock()

	select {
	case <-call.done:
		return call.result, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *rangeCache) run(ctx context.Context, prefix string, call *fetchCall, fetch fetchFunc) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	result, err := fetch(ctx, prefix)

	c.mu.Lock()
	if err == nil && c.size > 0 {
		el := c.lru.PushFront(&cacheEntry{prefix: prefix, result: result, expires: c.now().Add(c.ttl)})
		c.entries[prefix] = el
		for c.lru.Len() > c.size {
			oldest := c.lru.Back()
			c.lru.Remove(oldest)
			delete(c.entries, oldest.Value.(*cacheEntry).prefix)
		}
	}
	delete(c.inflight, prefix)
	c.mu.Unlock()

	call.result, call.err = result, err
	close(call.done)
}
