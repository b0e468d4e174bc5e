package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/testutil/bound"
)

// FuzzParsePage feeds query strings to the pagination parser and the Link
// header built from its result: a 400 or a page within the limits, and
// headers whose size does not depend on the numbers.
func FuzzParsePage(f *testing.F) {
	for _, s := range []string{
		"", "page=1&per_page=250", "page=0&per_page=1", "per_page=1000&page=3", "page=-1",
		"page=99999999999999999999", "per_page=0", "page=2147483647&per_page=1000", "page=1&page=2", "page=%zz",
		"credentials_identifier=alice%40example.org&page=2&per_page=10",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		bound.Check(t, bound.Budget{Bytes: uint64(16*len(query) + 64<<10), Time: time.Second}, func() {
			r := httptest.NewRequest(http.MethodGet, "/admin/identities", nil)
			r.URL.RawQuery = query
			p, err := httpx.ParsePage(r)
			if err != nil {
				if he := httpx.As(err); he.Code != http.StatusBadRequest {
					t.Fatalf("error %v, want 400", err)
				}
				return
			}
			if p.Number < 1 || p.PerPage < 1 || p.PerPage > httpx.MaxPerPage || p.Offset() < 0 {
				t.Fatalf("page %+v out of range from %q", p, query)
			}
			w := httptest.NewRecorder()
			base := &url.URL{Scheme: "http", Host: "127.0.0.1:4434", Path: "/admin/identities"}
			httpx.SetPaginationHeaders(w, base, 5000, p.Number, p.PerPage, 1)
			if n := len(w.Header().Get("Link")); n == 0 || n > 1024 {
				t.Fatalf("Link header of %d bytes", n)
			}
		})
	})
}
