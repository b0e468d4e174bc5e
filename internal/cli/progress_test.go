package cli

import (
	"bytes"
	"testing"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		done, total int
		want        string
	}{
		{0, 200, "[>         ] 0/200"},
		{100, 200, "[=====>    ] 100/200"},
		{200, 200, "[==========] 200/200"},
	} {
		if got := progressLine(tc.done, tc.total, 10); got != tc.want {
			t.Errorf("%d/%d: %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
	// Not a terminal: nothing is drawn.
	var buf bytes.Buffer
	p := newProgress(&buf, 1000)
	p.set(10)
	p.clear()
	if buf.Len() != 0 {
		t.Errorf("progress drawn on a non-terminal: %q", buf.String())
	}
}
