package ui

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestClearSecretsDropsValues(t *testing.T) {
	c := NewContainer("http://127.0.0.1:4433/self-service/login?flow=x")
	c.SetCSRF("masked-token")
	c.Upsert(NewInput("identifier", "ada@example.org", GroupDefault, InputText))
	c.Upsert(NewInput("password", "hunter2-hunter2", GroupPassword, InputPassword))
	c.Upsert(NewInput("totp_code", "123456", GroupTOTP, InputText))
	c.Upsert(NewInput("method", "password", GroupPassword, InputSubmit))
	c.Upsert(NewInput("password", "hidden-stays", GroupWebAuthn, InputHidden))

	c.ClearSecrets("password", "totp_code", "method", "csrf_token")

	want := map[string]any{
		"csrf_token/default": "masked-token",    // hidden: kept
		"identifier/default": "ada@example.org", // not a secret
		"password/password":  nil,               // dropped
		"totp_code/totp":     nil,               // dropped
		"method/password":    "password",        // submit: kept
		"password/webauthn":  "hidden-stays",    // hidden: kept
	}
	for _, n := range c.Nodes {
		key := n.ID() + "/" + n.Group
		if got := n.Input().Value; got != want[key] {
			t.Errorf("%s value %v, want %v", key, got, want[key])
		}
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	// A cleared input has no value key at all, as after Kratos' node reset.
	if strings.Contains(string(raw), `"hunter2-hunter2"`) || strings.Contains(string(raw), `"name":"password","type":"password","value"`) {
		t.Errorf("cleared password still serialized: %s", raw)
	}
}
