package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	kratos "github.com/ory/kratos-client-go"
	"github.com/pquerna/otp/totp"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// mfaLookupSubmit submits the lookup settings body with one button set
// (method "lookup", as the SDK documents it).
func mfaLookupSubmit(t testing.TB, s *testutil.Server, token, flowID string, set func(*kratos.SubmitSelfServiceSettingsFlowWithLookupMethodBody)) *kratos.SelfServiceSettingsFlow {
	t.Helper()
	body := kratos.NewSubmitSelfServiceSettingsFlowWithLookupMethodBody("lookup")
	set(body)
	out, res, err := s.Public.V0alpha2Api.SubmitSelfServiceSettingsFlow(context.Background()).Flow(flowID).XSessionToken(token).
		SubmitSelfServiceSettingsFlowBody(kratos.SubmitSelfServiceSettingsFlowWithLookupMethodBodyAsSubmitSelfServiceSettingsFlowBody(body)).Execute()
	if err != nil {
		t.Fatalf("lookup settings: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	return out
}

// mfaCodesOf returns the entries of the lookup_secret_codes node.
func mfaCodesOf(t testing.TB, f ssFlow) []ssText {
	t.Helper()
	n := f.node(t, "lookup_secret_codes")
	raw, _ := json.Marshal(n.Attributes["text"])
	var text struct {
		ID      int64 `json:"id"`
		Context struct {
			Secrets []ssText `json:"secrets"`
		} `json:"context"`
	}
	if err := json.Unmarshal(raw, &text); err != nil || text.ID != 1050015 {
		t.Fatalf("lookup_secret_codes %s", raw)
	}
	return text.Context.Secrets
}

func mfaGroupNodes(f ssFlow, group string) []string {
	out := []string{}
	for _, n := range f.UI.Nodes {
		if n.Group == group {
			out = append(out, n.name())
		}
	}
	return out
}

// TestLookupSecretLifecycle generates backup codes (regenerate, confirm),
// signs in with one, refuses it a second time and refuses an invalid one,
// reveals the list with the used code marked, and disables the codes.
func TestLookupSecretLifecycle(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := mfaStart(t, b)
		ctx := context.Background()
		api := s.Public.V0alpha2Api
		email := "lookup@example.org"
		token := *ssRegister(t, s, email, ssPassword).SessionToken

		f := mfaSettingsFlow(t, s, token)
		ssEqualStrings(t, "lookup nodes before", mfaGroupNodes(f, "lookup_secret"), []string{"lookup_secret_regenerate"})
		if n := f.node(t, "lookup_secret_regenerate"); n.Attributes["value"] != "true" || n.Meta.Label.ID != 1050008 {
			t.Errorf("regenerate %+v", n)
		}

		mfaLookupSubmit(t, s, token, f.ID, func(b *kratos.SubmitSelfServiceSettingsFlowWithLookupMethodBody) { b.SetLookupSecretRegenerate(true) })
		r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/flows?id="+f.ID), nil, "X-Session-Token", token, "Accept", "application/json")
		f = ssDecodeFlow(t, r.Body)
		ssEqualStrings(t, "lookup nodes after regenerate", mfaGroupNodes(f, "lookup_secret"), []string{"lookup_secret_codes", "lookup_secret_confirm"})
		var codes []string
		codeFormat := regexp.MustCompile(`^[a-z0-9]{8}$`)
		for _, c := range mfaCodesOf(t, f) {
			if c.ID != 1050009 || !codeFormat.MatchString(c.Text) || c.Context["secret"] != c.Text {
				t.Errorf("code %+v", c)
			}
			codes = append(codes, c.Text)
		}
		if len(codes) != 12 {
			t.Fatalf("%d codes", len(codes))
		}
		if n := f.node(t, "lookup_secret_confirm"); n.Meta.Label.ID != 1050011 {
			t.Errorf("confirm %+v", n)
		}

		out := mfaLookupSubmit(t, s, token, f.ID, func(b *kratos.SubmitSelfServiceSettingsFlowWithLookupMethodBody) { b.SetLookupSecretConfirm(true) })
		if out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS {
			t.Errorf("confirm: state %q", out.State)
		}
		if r := mfaWhoami(t, s, token); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"aal2"`) {
			t.Errorf("the session that confirmed the codes is not aal2: %s", r)
		}
		f = mfaSettingsFlow(t, s, token)
		ssEqualStrings(t, "lookup nodes with codes", mfaGroupNodes(f, "lookup_secret"), []string{"lookup_secret_reveal", "lookup_secret_disable"})

		token2 := *ssLogin(t, s, email, ssPassword).SessionToken
		if r := mfaWhoami(t, s, token2); r.Status != http.StatusForbidden {
			t.Errorf("whoami of a password session: %s", r)
		}
		lf := mfaAAL2Flow(t, s, token2)
		ssEqualStrings(t, "aal2 nodes", lf.nodeNames(), []string{"csrf_token", "lookup_secret", "method"})
		if n := lf.node(t, "lookup_secret"); n.Meta.Label.ID != 1010007 || n.Group != "lookup_secret" {
			t.Errorf("lookup_secret %+v", n)
		}

		t.Run("invalid code", func(t *testing.T) {
			for _, bad := range []string{"zzzzzzzz", strings.ToUpper(codes[0]), "", "x' OR 1=1 --"} {
				r := doJSON(t, http.MethodPost, lf.UI.Action, map[string]any{"method": "lookup_secret", "lookup_secret": bad}, "X-Session-Token", token2)
				if r.Status != http.StatusBadRequest {
					t.Fatalf("%q: %s", bad, r)
				}
				got := ssDecodeFlow(t, r.Body)
				ssRequireMessage(t, "lookup_secret", got.node(t, "lookup_secret").Messages, 4000016)
			}
		})

		t.Run("valid code", func(t *testing.T) {
			body := kratos.NewSubmitSelfServiceLoginFlowWithLookupSecretMethodBody(codes[3], "lookup_secret")
			out, res, err := api.SubmitSelfServiceLoginFlow(ctx).Flow(lf.ID).XSessionToken(token2).
				SubmitSelfServiceLoginFlowBody(kratos.SubmitSelfServiceLoginFlowWithLookupSecretMethodBodyAsSubmitSelfServiceLoginFlowBody(body)).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.Session.GetAuthenticatorAssuranceLevel() != kratos.AUTHENTICATORASSURANCELEVEL_AAL2 {
				t.Errorf("aal %s", out.Session.GetAuthenticatorAssuranceLevel())
			}
			if r := mfaWhoami(t, s, token2); r.Status != http.StatusOK {
				t.Errorf("whoami: %s", r)
			}
		})

		t.Run("used code", func(t *testing.T) {
			token3 := *ssLogin(t, s, email, ssPassword).SessionToken
			f3 := mfaAAL2Flow(t, s, token3)
			r := doJSON(t, http.MethodPost, f3.UI.Action, map[string]any{"method": "lookup_secret", "lookup_secret": codes[3]}, "X-Session-Token", token3)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			ssRequireMessage(t, "lookup_secret", got.node(t, "lookup_secret").Messages, 4000012)
		})

		t.Run("reveal marks the used code", func(t *testing.T) {
			f := mfaSettingsFlow(t, s, token2)
			mfaLookupSubmit(t, s, token2, f.ID, func(b *kratos.SubmitSelfServiceSettingsFlowWithLookupMethodBody) { b.SetLookupSecretReveal(true) })
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/flows?id="+f.ID), nil, "X-Session-Token", token2, "Accept", "application/json")
			got := ssDecodeFlow(t, r.Body)
			ssEqualStrings(t, "nodes after reveal", mfaGroupNodes(got, "lookup_secret"), []string{"lookup_secret_codes", "lookup_secret_regenerate", "lookup_secret_disable"})
			list := mfaCodesOf(t, got)
			if len(list) != 12 {
				t.Fatalf("%d entries", len(list))
			}
			for k, c := range list {
				switch {
				case k == 3 && (c.ID != 1050014 || c.Context["used_at"] == nil):
					t.Errorf("used code shown as %+v", c)
				case k != 3 && c.ID != 1050009:
					t.Errorf("unused code %d shown as %+v", k, c)
				case c.Text == codes[k]:
					t.Errorf("a stored code was shown in the clear")
				}
			}
		})

		t.Run("stored hashed", func(t *testing.T) {
			i, err := s.App.Store.GetIdentity(ctx, uuid.MustParse(lcIdentityID(t, s, email)), true)
			if err != nil {
				t.Fatal(err)
			}
			cfg := string(i.Credentials[identity.CredentialsLookupSecret].Config)
			for _, c := range codes {
				if strings.Contains(cfg, c) {
					t.Fatalf("code %s stored in the clear: %s", c, cfg)
				}
			}
		})

		t.Run("disable", func(t *testing.T) {
			f := mfaSettingsFlow(t, s, token2)
			out := mfaLookupSubmit(t, s, token2, f.ID, func(b *kratos.SubmitSelfServiceSettingsFlowWithLookupMethodBody) { b.SetLookupSecretDisable(true) })
			if out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS {
				t.Errorf("state %q", out.State)
			}
			got := mfaSettingsFlow(t, s, token2)
			ssEqualStrings(t, "lookup nodes after disable", mfaGroupNodes(got, "lookup_secret"), []string{"lookup_secret_regenerate"})
			if r := mfaWhoami(t, s, *ssLogin(t, s, email, ssPassword).SessionToken); r.Status != http.StatusOK {
				t.Errorf("whoami of a password session once the codes are gone: %s", r)
			}
		})
	})
}

// lcIdentityID finds the id of the identity with email through the admin
// API.
func lcIdentityID(t testing.TB, s *testutil.Server, email string) string {
	t.Helper()
	list, res, err := s.Admin.V0alpha2Api.AdminListIdentities(context.Background()).Execute()
	if err != nil {
		t.Fatalf("%v (%d)", err, sdkStatus(res))
	}
	for _, i := range list {
		if m, ok := i.Traits.(map[string]any); ok && m["email"] == email {
			return i.Id
		}
	}
	t.Fatalf("no identity %s", email)
	return ""
}

// TestSecondFactorsImportedFromKratos signs in with a TOTP key and a backup
// code stored as Kratos stores them (in the clear), and checks that Hoplite
// re-stores them protected.
func TestSecondFactorsImportedFromKratos(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := mfaStart(t, b)
		ctx := context.Background()
		email := "imported@example.org"
		ssRegister(t, s, email, ssPassword)
		id := uuid.MustParse(lcIdentityID(t, s, email))
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "Kratos", AccountName: email})
		if err != nil {
			t.Fatal(err)
		}
		i, err := s.App.Identities.Get(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		now := identity.Now()
		totpCfg, _ := json.Marshal(map[string]any{"totp_url": key.URL()})
		i.Credentials[identity.CredentialsTOTP] = identity.Credentials{Type: identity.CredentialsTOTP, Identifiers: []string{id.String()}, Config: totpCfg, CreatedAt: now, UpdatedAt: now}
		i.Credentials[identity.CredentialsLookupSecret] = identity.Credentials{Type: identity.CredentialsLookupSecret, Identifiers: []string{id.String()},
			Config: json.RawMessage(`{"recovery_codes":[{"code":"abcd1234","used_at":null},{"code":"used0000","used_at":"2022-01-01T00:00:00Z"}]}`), CreatedAt: now, UpdatedAt: now}
		if err := s.App.Identities.Update(ctx, i); err != nil {
			t.Fatal(err)
		}

		token := *ssLogin(t, s, email, ssPassword).SessionToken
		if r := mfaWhoami(t, s, token); r.Status != http.StatusForbidden {
			t.Fatalf("imported second factors do not count: %s", r)
		}
		f := mfaAAL2Flow(t, s, token)
		ssEqualStrings(t, "aal2 nodes", f.nodeNames(), []string{"csrf_token", "totp_code", "method", "lookup_secret", "method"})
		r := doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "lookup_secret", "lookup_secret": "used0000"}, "X-Session-Token", token)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s", r)
		}
		got := ssDecodeFlow(t, r.Body)
		ssRequireMessage(t, "lookup_secret", got.node(t, "lookup_secret").Messages, 4000012)
		r = doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "totp", "totp_code": mfaCode(t, key.Secret(), 0)}, "X-Session-Token", token)
		if r.Status != http.StatusOK {
			t.Fatalf("imported TOTP key: %s", r)
		}

		token2 := *ssLogin(t, s, email, ssPassword).SessionToken
		f2 := mfaAAL2Flow(t, s, token2)
		r = doJSON(t, http.MethodPost, f2.UI.Action, map[string]any{"method": "lookup_secret", "lookup_secret": "abcd1234"}, "X-Session-Token", token2)
		if r.Status != http.StatusOK {
			t.Fatalf("imported backup code: %s", r)
		}
		stored, err := s.App.Store.GetIdentity(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		for typ, secret := range map[identity.CredentialsType]string{identity.CredentialsTOTP: key.Secret(), identity.CredentialsLookupSecret: "abcd1234"} {
			if cfg := string(stored.Credentials[typ].Config); strings.Contains(cfg, secret) {
				t.Errorf("%s still stored in the clear after use: %s", typ, cfg)
			}
		}
	})
}

// TestLookupSecretLastCode: once the last backup code is spent, the
// identity has no second factor left, and a password session satisfies
// highest_available again instead of asking for a factor nobody can give.
func TestLookupSecretLastCode(t *testing.T) {
	s := mfaStart(t, testutil.Backends()[0])
	ctx := context.Background()
	email := "last-code@example.org"
	ssRegister(t, s, email, ssPassword)
	id := uuid.MustParse(lcIdentityID(t, s, email))
	i, err := s.App.Identities.Get(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	now := identity.Now()
	i.Credentials[identity.CredentialsLookupSecret] = identity.Credentials{Type: identity.CredentialsLookupSecret, Identifiers: []string{id.String()},
		Config: json.RawMessage(`{"recovery_codes":[{"code":"lastone1"},{"code":"spent001","used_at":"2022-01-01T00:00:00Z"}]}`), CreatedAt: now, UpdatedAt: now}
	if err := s.App.Identities.Update(ctx, i); err != nil {
		t.Fatal(err)
	}
	token := *ssLogin(t, s, email, ssPassword).SessionToken
	if r := mfaWhoami(t, s, token); r.Status != http.StatusForbidden {
		t.Fatalf("with a code left: %s", r)
	}
	f := mfaAAL2Flow(t, s, token)
	if r := doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "lookup_secret", "lookup_secret": "lastone1"}, "X-Session-Token", token); r.Status != http.StatusOK {
		t.Fatalf("last code: %s", r)
	}
	if r := mfaWhoami(t, s, *ssLogin(t, s, email, ssPassword).SessionToken); r.Status != http.StatusOK {
		t.Errorf("password session once every code is spent: %s", r)
	}
}
