// Package bench holds the measuring parts of cmd/hoplite-bench: a load
// generator on raw keep-alive HTTP/1.1 connections, a latency histogram,
// process memory readings, raw password-hash rates, machine facts and the
// markdown report section.
package bench

import (
	"math/bits"
	"time"
)

// Histogram records durations with about 1.6% relative precision (64
// sub-buckets per power of two, like an HDR histogram) in constant memory,
// so recording costs a few nanoseconds and no allocation.
type Histogram struct {
	counts [64 * 60]uint64
	n      uint64
	sum    time.Duration
	max    time.Duration
}

const subBuckets = 64

func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	exp := bits.Len64(v) - 7 // v>>exp is in [64, 128)
	return (exp+1)*subBuckets + int(v>>uint(exp)) - subBuckets
}

// valueOf returns the middle of bucket b.
func valueOf(b int) uint64 {
	if b < subBuckets {
		return uint64(b)
	}
	exp := b/subBuckets - 1
	sub := uint64(b%subBuckets + subBuckets)
	lo := sub << uint(exp)
	return lo + (uint64(1)<<uint(exp))/2
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.sum += d
	if d > h.max {
		h.max = d
	}
}

// Merge adds every recording of o.
func (h *Histogram) Merge(o *Histogram) {
	for k, c := range o.counts {
		h.counts[k] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is the number of recordings.
func (h *Histogram) Count() uint64 { return h.n }

// Mean is the average duration.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Max is the largest duration recorded.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the duration below which the fraction q of recordings
// fall (q in [0, 1]).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return h.max
	}
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(valueOf(b)), h.max)
		}
	}
	return h.max
}
