package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

func TestWebAuthnScript(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{})
	body, res, err := s.Public.V0alpha2Api.GetWebAuthnJavaScript(context.Background()).Execute()
	if err != nil {
		t.Fatalf("GetWebAuthnJavaScript: %v", err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, fn := range []string{"window.__oryWebAuthnLogin", "window.__oryWebAuthnRegistration", "__oryWebAuthnInitialized"} {
		if !strings.Contains(body, fn) {
			t.Errorf("the script does not define %s", fn)
		}
	}
}
