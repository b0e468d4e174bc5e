package metrics

import (
	"context"
	"math"
)

// CacheObserver is what a cache reports to. cache is a fixed name such as
// "session", never a key. Caches take one in their constructor and default
// to Discard, so they need not know whether metrics are served.
type CacheObserver interface {
	CacheHit(cache string)
	CacheMiss(cache string)
	// CacheInvalidated counts entries dropped because their data changed
	// (not evictions for space).
	CacheInvalidated(cache string, entries int)
}

// Discard is a CacheObserver that records nothing.
var Discard CacheObserver = discard{}

type discard struct{}

func (discard) CacheHit(string)              {}
func (discard) CacheMiss(string)             {}
func (discard) CacheInvalidated(string, int) {}

// FlowNote is filled in while a self-service submission is handled: the
// route wrapper puts one in the request context, the flow engine notes the
// method and a refusal, and the wrapper counts the submission once the
// answer is written.
type FlowNote struct {
	Method  string
	Outcome string
}

type flowNoteKey struct{}

// WithFlowNote returns ctx carrying a fresh note.
func WithFlowNote(ctx context.Context) (context.Context, *FlowNote) {
	n := &FlowNote{}
	return context.WithValue(ctx, flowNoteKey{}, n), n
}

// NoteFlow records the method and (when not empty) the outcome of the
// submission handled under ctx. It does nothing outside a noted request.
func NoteFlow(ctx context.Context, method, outcome string) {
	n, _ := ctx.Value(flowNoteKey{}).(*FlowNote)
	if n == nil {
		return
	}
	if method != "" {
		n.Method = method
	}
	if outcome != "" {
		n.Outcome = outcome
	}
}

func nan() float64 { return math.NaN() }
