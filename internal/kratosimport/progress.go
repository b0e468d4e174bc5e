package kratosimport

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress reports how far one phase has got: a bar redrawn in place on a
// terminal, or a line every ten per cent otherwise.
type progress struct {
	w        io.Writer
	bar      bool
	what     string
	total    int
	n        int
	lastPct  int
	lastDraw time.Time
	start    time.Time
}

func newProgress(w io.Writer, bar bool, what string, total int) *progress {
	p := &progress{w: w, bar: bar, what: what, total: total, lastPct: -1, start: time.Now()}
	p.draw(true)
	return p
}

func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.n += n
	p.draw(false)
}

func (p *progress) done() {
	if p == nil || p.w == nil {
		return
	}
	p.draw(true)
	if p.bar {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw(force bool) {
	if p == nil || p.w == nil {
		return
	}
	pct := 100
	if p.total > 0 {
		pct = min(100, p.n*100/p.total)
	}
	if p.bar {
		if !force && time.Since(p.lastDraw) < 100*time.Millisecond {
			return
		}
		p.lastDraw = time.Now()
		const width = 30
		filled := pct * width / 100
		rate := ""
		if secs := time.Since(p.start).Seconds(); secs > 0.5 {
			rate = fmt.Sprintf(" %.0f/s", float64(p.n)/secs)
		}
		fmt.Fprintf(p.w, "\r%-10s [%s%s] %3d%% %d/%d%s ", p.what,
			strings.Repeat("=", filled), strings.Repeat(" ", width-filled), pct, p.n, p.total, rate)
		return
	}
	if pct/10 == p.lastPct/10 && !force {
		return
	}
	if force && pct == p.lastPct {
		return
	}
	p.lastPct = pct
	fmt.Fprintf(p.w, "%s: %d/%d (%d%%)\n", p.what, p.n, p.total, pct)
}
