package httpx

import (
	"net/http"
	"strconv"
	"strings"
)

type acceptSpec struct {
	value string
	q     float64
}

func parseAccept(h string) []acceptSpec {
	var specs []acceptSpec
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fields := strings.Split(part, ";")
		spec := acceptSpec{value: strings.ToLower(strings.TrimSpace(fields[0])), q: 1}
		for _, p := range fields[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					spec.q = q
				}
			}
		}
		specs = append(specs, spec)
	}
	return specs
}

// Negotiate picks the best of offers for the request's Accept header. Higher
// quality wins; at equal quality an exact match beats "type/*", which beats
// "*/*"; remaining ties go to the earlier offer. Without an Accept header (or
// without any match) it returns def.
func Negotiate(r *http.Request, offers []string, def string) string {
	specs := parseAccept(r.Header.Get("Accept"))
	if len(specs) == 0 {
		return def
	}
	best, bestQ, bestWild := def, -1.0, 3
	for _, offer := range offers {
		for _, s := range specs {
			if s.q <= 0 || s.q < bestQ {
				continue
			}
			wild := -1
			switch {
			case s.value == "*/*":
				wild = 2
			case strings.HasSuffix(s.value, "/*"):
				if strings.HasPrefix(offer, s.value[:len(s.value)-1]) {
					wild = 1
				}
			case s.value == offer:
				wild = 0
			}
			if wild < 0 {
				continue
			}
			if s.q > bestQ || wild < bestWild {
				best, bestQ, bestWild = offer, s.q, wild
			}
		}
	}
	return best
}

// WantsJSON is the Accept-only negotiation Kratos uses on flow init endpoints
// and when forwarding to the error UI: JSON only if the client prefers it to
// HTML.
func WantsJSON(r *http.Request) bool {
	return Negotiate(r, []string{"text/html", "application/json"}, "text/html") == "application/json"
}

// IsJSONRequest is the broader check Kratos uses on submissions: the client
// prefers JSON in Accept, or it sent an application/json body.
func IsJSONRequest(r *http.Request) bool {
	if Negotiate(r, []string{"text/html", "text/*", "*/*", "application/json"}, "text/html") == "application/json" {
		return true
	}
	return r.Header.Get("Content-Type") == "application/json"
}
