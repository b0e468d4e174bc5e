package httpx

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Page is a parsed page request. Number is 1-based: page=0 and an absent
// page both mean the first page, as Kratos' storage layer treats them.
type Page struct {
	Number  int
	PerPage int
}

// Offset is the number of rows before this page.
func (p Page) Offset() int { return (p.Number - 1) * p.PerPage }

const (
	DefaultPerPage = 250
	MaxPerPage     = 1000
)

// ParsePage reads page and per_page. per_page is clamped to [1, MaxPerPage];
// values that are not non-negative integers are refused with a 400.
func ParsePage(r *http.Request) (Page, error) {
	q := r.URL.Query()
	p := Page{Number: 1, PerPage: DefaultPerPage}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, BadRequest(fmt.Sprintf("The query parameter page must be a non-negative integer, got %q.", v))
		}
		if n > 0 {
			p.Number = n
		}
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, BadRequest(fmt.Sprintf("The query parameter per_page must be a non-negative integer, got %q.", v))
		}
		p.PerPage = min(max(n, 1), MaxPerPage)
	}
	if p.Number > (1<<31)/p.PerPage {
		return p, BadRequest("The query parameter page is too large.")
	}
	return p, nil
}

// SetPaginationHeaders writes X-Total-Count and a Link header with first,
// prev, next and last relations. firstPage is the number of the first page in
// the scheme the endpoint uses (1 for storage-backed lists, 0 for the schema
// list, which Kratos pages from zero); current is the requested page in that
// same scheme.
func SetPaginationHeaders(w http.ResponseWriter, base *url.URL, total, current, perPage, firstPage int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	pages := (total + perPage - 1) / perPage
	if pages < 1 {
		pages = 1
	}
	last := firstPage + pages - 1
	link := func(page int, rel string) string {
		u := *base
		q := u.Query()
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	parts := []string{link(firstPage, "first")}
	if current > firstPage {
		parts = append(parts, link(min(current-1, last), "prev"))
	}
	if current < last {
		parts = append(parts, link(current+1, "next"))
	}
	parts = append(parts, link(last, "last"))
	w.Header().Set("Link", strings.Join(parts, ","))
}
