package e2e_test

// The self-service body decoder refuses hostile shapes before it allocates
// per field: a dotted form name with half a million segments, or JSON nested
// thousands of levels deep. Memory is measured around one such request; the
// test is not parallel, so the rest of the suite does not run meanwhile.

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// hostileRequestBudget bounds what one hostile request (of a 1 MiB body) may
// allocate in the whole process, client side included. Before the limits
// the dotted-name request below cost about 180 MiB of heap.
const hostileRequestBudget = 24 << 20

func TestDecoderLimitsMemory(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{})

	// measure runs send once and returns the bytes allocated and the growth
	// of the stacks' memory while it ran.
	measure := func(send func() response) (response, uint64, int64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := send()
		runtime.ReadMemStats(&after)
		return r, after.TotalAlloc - before.TotalAlloc, int64(after.StackSys) - int64(before.StackSys)
	}
	check := func(t *testing.T, r response, alloc uint64, stack int64) {
		t.Helper()
		t.Logf("status %d, allocated %.1f MiB, stack growth %.1f MiB", r.Status, float64(alloc)/(1<<20), float64(stack)/(1<<20))
		if r.Status >= 500 {
			t.Fatalf("server error: %s", r)
		}
		if alloc > hostileRequestBudget {
			t.Errorf("one request allocated %d bytes, budget %d", alloc, hostileRequestBudget)
		}
		if stack > 8<<20 {
			t.Errorf("stacks grew by %d bytes", stack)
		}
	}

	t.Run("dotted form name of 500k segments, browser flow", func(t *testing.T) {
		b := ssNewBrowser(t, s)
		f := b.initFlow("registration", "")
		name := "traits" + strings.Repeat(".a", 500_000)
		body := "method=password&password=" + ssPassword + "&csrf_token=" + f.csrf(t) + "&" + name + "=x"
		if len(body) > 1<<20 {
			t.Fatalf("the body must fit the default 1 MiB limit, it has %d bytes", len(body))
		}
		r, alloc, stack := measure(func() response {
			return b.do(http.MethodPost, ssFlowURL(s, "/self-service/registration?flow="+f.ID), strings.NewReader(body),
				"Content-Type", "application/x-www-form-urlencoded")
		})
		check(t, r, alloc, stack)
		// The browser is sent back to the form, which explains the error.
		if loc := r.Header.Get("Location"); (r.Status != http.StatusFound && r.Status != http.StatusSeeOther) || !strings.Contains(loc, "flow="+f.ID) {
			t.Fatalf("status %d to %q, want a redirect to the flow's form: %s", r.Status, loc, r.Body)
		}
		again := b.fetch("registration", f.ID)
		if len(again.UI.Messages) == 0 {
			t.Fatalf("the flow carries no message about the refused form: %+v", again.UI)
		}
	})

	t.Run("dotted form name of 500k segments, API flow", func(t *testing.T) {
		id := apiFlowID(t, s, "registration")
		name := "traits" + strings.Repeat(".a", 500_000)
		body := "method=password&password=" + ssPassword + "&" + name + "=x"
		r, alloc, stack := measure(func() response {
			return do(t, http.MethodPost, ssFlowURL(s, "/self-service/registration?flow="+id), body,
				"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
		})
		check(t, r, alloc, stack)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
		}
		requireFlowOrEnvelope(t, r)
	})

	t.Run("JSON nested 100k levels", func(t *testing.T) {
		id := apiFlowID(t, s, "registration")
		deep := `{"method":"password","password":"` + ssPassword + `","traits":` +
			strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000) + "}"
		r, alloc, stack := measure(func() response {
			return do(t, http.MethodPost, ssFlowURL(s, "/self-service/registration?flow="+id), deep,
				"Content-Type", "application/json", "Accept", "application/json")
		})
		check(t, r, alloc, stack)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
		}
		requireFlowOrEnvelope(t, r)
	})

	t.Run("limits leave ordinary submissions alone", func(t *testing.T) {
		// 16 segments (the limit) and a 256-byte name still decode; the
		// registration fails only on the schema, on a field message.
		id := apiFlowID(t, s, "registration")
		body := "method=password&password=" + ssPassword + "&traits.email=limits@example.org&" +
			"traits" + strings.Repeat(".b", 15) + "=x"
		r := do(t, http.MethodPost, ssFlowURL(s, "/self-service/registration?flow="+id), body,
			"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
		if r.Status >= 500 || r.Status == http.StatusOK {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "dotted parts") {
			t.Fatalf("a name within the limit was refused: %s", r.Body)
		}
	})
}

// apiFlowID starts an API flow of kind and returns its id.
func apiFlowID(t testing.TB, s *testutil.Server, kind string) string {
	t.Helper()
	r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/api"), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%s init: %s", kind, r)
	}
	var f struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &f); err != nil || f.ID == "" {
		t.Fatalf("%s init answer %s", kind, r.Body)
	}
	return f.ID
}

// requireFlowOrEnvelope checks that a refused submission is answered with
// the error envelope or with the flow carrying a message.
func requireFlowOrEnvelope(t testing.TB, r response) {
	t.Helper()
	var v struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
		UI *struct {
			Messages []json.RawMessage `json:"messages"`
		} `json:"ui"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("answer is not JSON: %s", r.Body)
	}
	switch {
	case v.Error != nil && v.Error.Code == r.Status:
	case v.UI != nil && len(v.UI.Messages) > 0:
	default:
		t.Fatalf("answer is neither the error envelope nor a flow with a message: %.300s", r.Body)
	}
}
