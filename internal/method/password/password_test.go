package password

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/flow"
)

func jsonBody(t *testing.T, doc string) *flow.Body {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/self-service/login?flow=x", strings.NewReader(doc))
	r.Header.Set("Content-Type", "application/json")
	b, err := flow.DecodeBody(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func formBody(t *testing.T, v url.Values) *flow.Body {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/self-service/login?flow=x", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b, err := flow.DecodeBody(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckLoginFields follows Kratos' login payload schema: absent fields
// are missing (4000002), empty ones fail the minimum length (4000001), and
// password_identifier stands in for an absent identifier.
func TestCheckLoginFields(t *testing.T) {
	cases := []struct {
		name string
		body *flow.Body
		want []string // "field:id", in order; empty: accepted
	}{
		{"complete", jsonBody(t, `{"identifier":"a@b.c","password":"x"}`), nil},
		{"legacy identifier", jsonBody(t, `{"password_identifier":"a@b.c","password":"x"}`), nil},
		{"both identifiers", jsonBody(t, `{"identifier":"a@b.c","password_identifier":"","password":"x"}`), nil},
		{"nothing", jsonBody(t, `{"method":"password"}`), []string{"identifier:4000002", "password:4000002"}},
		{"empty legacy identifier", jsonBody(t, `{"password_identifier":"","password":"x"}`), []string{"identifier:4000002"}},
		{"empty identifier", jsonBody(t, `{"identifier":"","password":"x"}`), []string{"identifier:4000001"}},
		{"empty identifier, legacy given", jsonBody(t, `{"identifier":"","password_identifier":"a@b.c","password":"x"}`), []string{"identifier:4000001"}},
		{"empty password", jsonBody(t, `{"identifier":"a@b.c","password":""}`), []string{"password:4000001"}},
		{"both empty", jsonBody(t, `{"identifier":"","password":""}`), []string{"identifier:4000001", "password:4000001"}},
		{"blank identifier is not empty", jsonBody(t, `{"identifier":"  ","password":"x"}`), nil},
		{"form, empty fields", formBody(t, url.Values{"identifier": {""}, "password": {""}}), []string{"identifier:4000001", "password:4000001"}},
		{"form, no fields", formBody(t, url.Values{"method": {"password"}}), []string{"identifier:4000002", "password:4000002"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkLoginFields(c.body)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			var fe *flow.FormError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a form error", err)
			}
			var got []string
			for _, it := range fe.Items {
				got = append(got, it.Field+":"+strconv.FormatInt(it.Text.ID, 10))
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
