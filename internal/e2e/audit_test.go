package e2e_test

// The security event log (a Hoplite addition): every event type is
// recorded with its identity, listed newest first on GET
// /admin/audit-events with the identity list's pagination headers, and
// filtered by identity, type and time.

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/audit"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

type auEvent struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	IdentityID string         `json:"identity_id"`
	ClientIP   string         `json:"client_ip"`
	Details    map[string]any `json:"details"`
	CreatedAt  time.Time      `json:"created_at"`
}

// auList fetches a page of events with the given query.
func auList(t testing.TB, s *testutil.Server, query url.Values, headers ...string) ([]auEvent, response) {
	t.Helper()
	r := do(t, http.MethodGet, adminURL(s, "audit-events")+"?"+query.Encode(), nil, headers...)
	if r.Status != http.StatusOK {
		t.Fatalf("audit-events ?%s: %s", query.Encode(), r)
	}
	return decode[[]auEvent](t, r), r
}

func auTypes(events []auEvent) map[string]int {
	out := map[string]int{}
	for _, e := range events {
		out[e.Type]++
	}
	return out
}

func TestAuditEvents(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		cfg := lcMergeYAML(t, lcConfig, lcNoMailCooldown, ssSessionHook, "security:\n  brute_force:\n    max_failures_per_account: 3\n    base_delay: 0s\n")
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: cfg})
		ctx := context.Background()
		api := s.Public.V0alpha2Api
		start := time.Now().UTC().Add(-time.Second)

		// identity.created (registration), login.failed, login.succeeded.
		reg := ssRegister(t, s, "audited@example.com", ssPassword)
		id := reg.Identity.Id
		tbRequireMessage(t, tbLogin(t, s, "audited@example.com", "wrong"), 4000006)
		token := ssLogin(t, s, "audited@example.com", ssPassword).GetSessionToken()

		// password.changed and identity.updated (settings).
		sdk := ssTokenSDK(s, token)
		sf, res, err := sdk.V0alpha2Api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
		if err != nil {
			t.Fatalf("settings init: %v (%d)", err, sdkStatus(res))
		}
		if _, res, err := sdk.V0alpha2Api.SubmitSelfServiceSettingsFlow(ctx).Flow(sf.Id).XSessionToken(token).
			SubmitSelfServiceSettingsFlowBody(ssSettingsPassword("a-new-Passw0rd-for-audit")).Execute(); err != nil {
			t.Fatalf("settings submit: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
		}

		// session.revoked (logout).
		if _, err := api.SubmitSelfServiceLogoutFlowWithoutBrowser(ctx).
			SubmitSelfServiceLogoutFlowWithoutBrowserBody(kratos.SubmitSelfServiceLogoutFlowWithoutBrowserBody{SessionToken: token}).Execute(); err != nil {
			t.Fatalf("logout: %v", err)
		}

		// login.locked: the third failure of another account.
		for k := 0; k < 3; k++ {
			tbRequireMessage(t, tbLogin(t, s, "target@example.com", "guess"), 4000006)
		}

		// recovery.used (an admin link), then session.revoked (admin) and
		// identity.deleted.
		r := doJSON(t, http.MethodPost, adminURL(s, "recovery/link"), map[string]any{"identity_id": id})
		if r.Status != http.StatusOK {
			t.Fatalf("recovery link: %s", r)
		}
		link := decode[map[string]any](t, r)["recovery_link"].(string)
		lcFlowIDFrom(t, ssNewBrowser(t, s).get(link), "settings")
		if r := do(t, http.MethodDelete, adminURL(s, "identities/"+id+"/sessions"), nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete sessions: %s", r)
		}
		if r := do(t, http.MethodDelete, adminURL(s, "identities/"+id), nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete identity: %s", r)
		}
		end := time.Now().UTC().Add(time.Second)

		all, r := auList(t, s, url.Values{})
		got := auTypes(all)
		want := map[string]int{
			audit.IdentityCreated: 1, audit.LoginFailed: 4, audit.LoginSucceeded: 1, audit.PasswordChanged: 1,
			audit.SessionRevoked: 2, audit.LoginLocked: 1, audit.RecoveryUsed: 1, audit.IdentityDeleted: 1,
		}
		for typ, n := range want {
			if got[typ] != n {
				t.Errorf("%d %s events, want %d (all: %v)", got[typ], typ, n, got)
			}
		}
		if got[audit.IdentityUpdated] < 1 {
			t.Errorf("no identity.updated event (all: %v)", got)
		}
		if r.Header.Get("X-Total-Count") != strconv.Itoa(len(all)) {
			t.Errorf("X-Total-Count %q, want %d", r.Header.Get("X-Total-Count"), len(all))
		}
		for k, e := range all {
			if _, err := uuid.Parse(e.ID); err != nil || e.CreatedAt.Before(start) || e.CreatedAt.After(end) || e.Details == nil {
				t.Errorf("event %+v: bad id, time or details", e)
			}
			if k > 0 && e.CreatedAt.After(all[k-1].CreatedAt) {
				t.Errorf("events are not newest first at %d", k)
			}
			if e.ClientIP != "127.0.0.1" {
				t.Errorf("event %s: client_ip %q, want 127.0.0.1", e.Type, e.ClientIP)
			}
		}
		if all[0].Type != audit.IdentityDeleted {
			t.Errorf("the newest event is %s, want identity.deleted", all[0].Type)
		}
		for _, e := range all {
			if e.Type == audit.LoginLocked && e.Details["identifier"] != "target@example.com" {
				t.Errorf("login.locked details %v", e.Details)
			}
			if e.Type == audit.LoginFailed && e.Details["identifier"] == nil {
				t.Errorf("login.failed without the identifier: %v", e.Details)
			}
		}

		// Filters.
		failed, r := auList(t, s, url.Values{"type": {audit.LoginFailed}})
		if len(failed) != 4 || r.Header.Get("X-Total-Count") != "4" {
			t.Errorf("type filter: %d events, X-Total-Count %q; want 4", len(failed), r.Header.Get("X-Total-Count"))
		}
		mine, _ := auList(t, s, url.Values{"identity_id": {id}})
		for _, e := range mine {
			if e.IdentityID != id {
				t.Errorf("identity filter returned an event of %q", e.IdentityID)
			}
		}
		if ids := auTypes(mine); ids[audit.IdentityCreated] != 1 || ids[audit.IdentityDeleted] != 1 || ids[audit.LoginLocked] != 0 {
			t.Errorf("events of the identity: %v", ids)
		}
		none, _ := auList(t, s, url.Values{"until": {start.Format(time.RFC3339Nano)}})
		if len(none) != 0 {
			t.Errorf("until before the first event: %d events", len(none))
		}
		mid := all[len(all)/2].CreatedAt
		newer, _ := auList(t, s, url.Values{"since": {mid.Format(time.RFC3339Nano)}})
		older, _ := auList(t, s, url.Values{"until": {mid.Format(time.RFC3339Nano)}})
		if len(newer)+len(older) != len(all) || len(newer) == 0 || len(older) == 0 {
			t.Errorf("since/until split %d events into %d + %d", len(all), len(newer), len(older))
		}

		// The widest range is fine on every database.
		if wide, _ := auList(t, s, url.Values{"since": {"0001-01-01T00:00:00Z"}, "until": {"9999-12-31T23:59:59Z"}}); len(wide) != len(all) {
			t.Errorf("the widest range has %d events, want %d", len(wide), len(all))
		}

		// Pagination keeps the filters in its links.
		page2, r := auList(t, s, url.Values{"type": {audit.LoginFailed}, "per_page": {"3"}, "page": {"2"}})
		if len(page2) != 1 || page2[0].ID != failed[3].ID {
			t.Errorf("page 2 of 3 per page: %d events", len(page2))
		}
		linkHdr := r.Header.Get("Link")
		if !strings.Contains(linkHdr, "type=login.failed") || !strings.Contains(linkHdr, `rel="first"`) || !strings.Contains(linkHdr, `rel="prev"`) || strings.Contains(linkHdr, `rel="next"`) {
			t.Errorf("Link %q", linkHdr)
		}

		// Bad filters are 400s in the error envelope.
		for _, q := range []string{"identity_id=nope", "type=unknown", "since=yesterday", "until=2020-13-01T00:00:00Z", "page=-1", "per_page=x"} {
			requireEnvelope(t, do(t, http.MethodGet, adminURL(s, "audit-events")+"?"+q, nil), http.StatusBadRequest)
		}
	})
}

func TestAuditAdminAPIKeyUseAndRetention(t *testing.T) {
	const key = "an-admin-api-key-for-the-audit-test"
	s := testutil.StartServer(t, testutil.Options{Config: ssSessionHook + "serve:\n  admin:\n    api_keys: [\"" + key + "\"]\nsecurity:\n  audit:\n    retention: 24h\n"})
	auth := []string{"Authorization", "Bearer " + key}
	created := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"schema_id": "default", "traits": map[string]any{"email": "keyed@example.com"}}, auth...)
	if created.Status != http.StatusCreated {
		t.Fatalf("create: %s", created)
	}
	// Reading is not recorded; changing is.
	auList(t, s, url.Values{}, auth...)
	events, _ := auList(t, s, url.Values{"type": {audit.AdminAPIKeyUsed}}, auth...)
	if len(events) != 1 {
		t.Fatalf("%d admin.api_key_used events, want 1", len(events))
	}
	e := events[0]
	if e.Details["method"] != "POST" || e.Details["path"] != "/admin/identities" || len(e.Details["key_fingerprint"].(string)) != 12 || strings.Contains(e.Details["key_fingerprint"].(string), key) {
		t.Errorf("details %v", e.Details)
	}

	// Retention: an event older than security.audit.retention is pruned.
	old := audit.For(audit.LoginFailed, uuid.Nil, map[string]any{"old": true})
	old.ID, old.CreatedAt = uuid.New(), time.Now().UTC().Add(-25*time.Hour).Truncate(time.Microsecond)
	if err := s.App.Store.CreateAuditEvent(context.Background(), &old); err != nil {
		t.Fatal(err)
	}
	if got, _ := auList(t, s, url.Values{"type": {audit.LoginFailed}}, auth...); len(got) != 1 {
		t.Fatalf("the old event was not stored: %d", len(got))
	}
	if err := s.App.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := auList(t, s, url.Values{"type": {audit.LoginFailed}}, auth...); len(got) != 0 {
		t.Fatalf("the old event survived pruning")
	}
	if got, _ := auList(t, s, url.Values{}, auth...); len(got) < 2 {
		t.Fatalf("pruning removed recent events: %d left", len(got))
	}
}
