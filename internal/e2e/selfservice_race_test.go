package e2e_test

// Races on the self-service flows, on every database: many requests that
// touch the same identity, session or one-time token at the same moment,
// sent through real HTTP. Whatever the interleaving, each answer is one a
// client can act on (never a 5xx), one-time things happen once, and the
// stored state afterwards is one of the states the requests asked for.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	kratos "github.com/ory/kratos-client-go"
	"golang.org/x/crypto/bcrypt"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// rcRace runs f(0) … f(n-1) at once, each in its own goroutine released
// together, and returns their results in order.
func rcRace[T any](n int, f func(k int) T) []T {
	out := make([]T, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[k] = f(k)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// rcOpenAtOnce opens link in n fresh browsers at the same moment.
func rcOpenAtOnce(t *testing.T, s *testutil.Server, link string, n int) []rcLinkOutcome {
	t.Helper()
	browsers := make([]*ssBrowser, n)
	for k := range n {
		browsers[k] = ssNewBrowser(t, s)
	}
	return rcRace(n, func(k int) rcLinkOutcome { return rcLinkOutcome{browsers[k].get(link), browsers[k]} })
}

// rcCloseIdleBeforeStop closes the clients' idle keep-alive connections
// when the test ends, before its server stops (cleanups run last first):
// a burst of requests leaves connections the shared transports dialed but
// never used, and http.Server.Shutdown waits five seconds for each such
// never-used connection.
func rcCloseIdleBeforeStop(t *testing.T) {
	t.Cleanup(func() {
		rawClient.CloseIdleConnections()
		if tr, ok := http.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	})
}

// rcAPIFlow starts an API flow of kind (with a session token for settings)
// and returns its id.
func rcAPIFlow(t testing.TB, s *testutil.Server, kind, token string) string {
	t.Helper()
	var headers []string
	if token != "" {
		headers = []string{"X-Session-Token", token}
	}
	r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/api"), nil, headers...)
	if r.Status != http.StatusOK {
		t.Fatalf("%s init: %s", kind, r)
	}
	return ssDecodeFlow(t, r.Body).ID
}

// rcSubmitURL is the submit URL of the flow id of kind.
func rcSubmitURL(s *testutil.Server, kind, id string) string {
	return ssFlowURL(s, "/self-service/"+kind+"?flow="+id)
}

// rcNo5xx fails for every answer with a 5xx status (or none at all).
func rcNo5xx(t testing.TB, what string, rs []response) {
	t.Helper()
	for k, r := range rs {
		if r.Status < 200 || r.Status >= 500 {
			t.Errorf("%s #%d: %d %s", what, k, r.Status, r.Body)
		}
	}
}

// rcWhoami asks whoami with a session token.
func rcWhoami(t testing.TB, s *testutil.Server, token string) response {
	t.Helper()
	return do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "X-Session-Token", token, "Accept", "application/json")
}

// rcSessionIdentity is the identity id of a whoami answer.
func rcSessionIdentity(r response) string {
	var v struct {
		Identity struct {
			ID string `json:"id"`
		} `json:"identity"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.Identity.ID
}

// rcAllMessages lists the ids of a flow's messages, global and per node.
func rcAllMessages(f ssFlow) []int64 {
	ids := ssIDs(f.UI.Messages)
	for k := range f.UI.Nodes {
		ids = append(ids, f.UI.Nodes[k].messageIDs()...)
	}
	return ids
}

func TestSelfServiceRaceRegistrationSameEmail(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: ssSessionHook})
		rcCloseIdleBeforeStop(t)
		const n = 12
		// Half the requests spell the address in other letter cases: the
		// identifier is the same.
		emails := []string{"race-register@example.org", "Race-Register@Example.org", "RACE-REGISTER@EXAMPLE.ORG"}
		flows := make([]string, n)
		for k := range n {
			flows[k] = rcAPIFlow(t, s, "registration", "")
		}
		out := rcRace(n, func(k int) response {
			return doJSON(t, http.MethodPost, rcSubmitURL(s, "registration", flows[k]), map[string]any{
				"method": "password", "password": ssPassword, "traits": map[string]any{"email": emails[k%len(emails)]},
			})
		})
		ok := 0
		var winner struct {
			Identity     identityJSON `json:"identity"`
			SessionToken string       `json:"session_token"`
		}
		for k, r := range out {
			switch r.Status {
			case http.StatusOK:
				ok++
				winner = decode[struct {
					Identity     identityJSON `json:"identity"`
					SessionToken string       `json:"session_token"`
				}](t, r)
			case http.StatusBadRequest:
				f := ssDecodeFlow(t, r.Body)
				if f.ID != flows[k] {
					t.Errorf("#%d: answered with flow %s, want its own %s", k, f.ID, flows[k])
				}
				if !containsID(ssIDs(f.UI.Messages), 4000007) {
					t.Errorf("#%d: ui.messages %v, want 4000007 (duplicate identifier); body %s", k, ssIDs(f.UI.Messages), r.Body)
				}
			default:
				t.Errorf("#%d: %d %s", k, r.Status, r.Body)
			}
		}
		if ok != 1 {
			t.Fatalf("%d registrations of one address succeeded, want exactly 1", ok)
		}
		list := decode[[]identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities?per_page=100"), nil))
		if len(list) != 1 || list[0].ID != winner.Identity.ID {
			t.Fatalf("identities after the race: %d (%+v), want only the winner %s", len(list), list, winner.Identity.ID)
		}
		if len(list[0].VerifiableAddresses) != 1 || len(list[0].RecoveryAddresses) != 1 {
			t.Errorf("winner has %d verifiable and %d recovery addresses, want 1 each", len(list[0].VerifiableAddresses), len(list[0].RecoveryAddresses))
		}
		if r := rcWhoami(t, s, winner.SessionToken); r.Status != http.StatusOK || rcSessionIdentity(r) != winner.Identity.ID {
			t.Errorf("winner's session: %s", r)
		}
		// The address can sign in, and is still taken.
		ssLogin(t, s, "race-register@example.org", ssPassword)
		r := doJSON(t, http.MethodPost, rcSubmitURL(s, "registration", rcAPIFlow(t, s, "registration", "")), map[string]any{
			"method": "password", "password": ssPassword, "traits": map[string]any{"email": "race-register@example.org"},
		})
		if r.Status != http.StatusBadRequest || !containsID(ssIDs(ssDecodeFlow(t, r.Body).UI.Messages), 4000007) {
			t.Errorf("registration after the race: %s", r)
		}
	})
}

func TestSelfServiceRaceLogin(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		rcCloseIdleBeforeStop(t)
		ctx := context.Background()
		api := s.Public.V0alpha2Api

		// A hash of another bcrypt cost than the configured 4, and one of
		// another algorithm: the first login of each re-hashes.
		bcrypt6, err := bcrypt.GenerateFromPassword([]byte(ssPassword), 6)
		if err != nil {
			t.Fatal(err)
		}
		importID := func(email, hashed string) string {
			body := kratos.NewAdminCreateIdentityBody("default", map[string]any{"email": email})
			body.Credentials = &kratos.AdminIdentityImportCredentials{Password: &kratos.AdminCreateIdentityImportCredentialsPassword{
				Config: &kratos.AdminCreateIdentityImportCredentialsPasswordConfig{HashedPassword: kratos.PtrString(hashed)},
			}}
			created, res, err := s.Admin.V0alpha2Api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*body).Execute()
			if err != nil {
				t.Fatalf("import %s: %v (%d) %s", email, err, sdkStatus(res), sdkErrorBody(err))
			}
			if got := ssStoredHash(t, s, created.Id); got != hashed {
				t.Fatalf("stored %q, want the import", got)
			}
			return created.Id
		}
		cases := []struct{ name, email, password, id string }{
			{name: "registered", email: "race-login@example.org", password: ssPassword},
			{name: "imported bcrypt cost 6", email: "race-bcrypt6@example.org", password: ssPassword},
			{name: "imported pbkdf2", email: "race-pbkdf2@example.org", password: "tr0ub4dor&3"},
		}
		cases[0].id = ssRegister(t, s, cases[0].email, cases[0].password).Identity.Id
		cases[1].id = importID(cases[1].email, string(bcrypt6))
		cases[2].id = importID(cases[2].email, "$pbkdf2-sha256$i=1000,l=32$cGVwcGVyIGFuZCBzYWx0IQ$HEpzEcguDAexEuDfvIdsTcUb9zmgKDT3LNtVjGZ8z58")

		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				const n = 10
				flows := make([]string, n)
				for k := range n {
					f, res, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
					if err != nil {
						t.Fatalf("login init: %v (%d)", err, sdkStatus(res))
					}
					flows[k] = f.Id
				}
				type result struct {
					out    *kratos.SuccessfulSelfServiceLoginWithoutBrowser
					status int
					err    error
				}
				out := rcRace(n, func(k int) result {
					o, res, err := api.SubmitSelfServiceLoginFlow(ctx).Flow(flows[k]).
						SubmitSelfServiceLoginFlowBody(ssPasswordLogin(c.email, c.password)).Execute()
					return result{o, sdkStatus(res), err}
				})
				tokens := map[string]bool{}
				for k, r := range out {
					if r.err != nil || r.status != http.StatusOK {
						t.Errorf("login #%d: %d %v %s", k, r.status, r.err, sdkErrorBody(r.err))
						continue
					}
					tok := r.out.GetSessionToken()
					if tok == "" || tokens[tok] {
						t.Errorf("login #%d: session token %q is empty or not distinct", k, tok)
					}
					tokens[tok] = true
					if r.out.Session.Identity.Id != c.id {
						t.Errorf("login #%d signed in as %s, want %s", k, r.out.Session.Identity.Id, c.id)
					}
				}
				if len(tokens) != n {
					t.Errorf("%d distinct session tokens from %d logins", len(tokens), n)
				}
				// Every session works, also checked concurrently.
				list := slices.Collect(func(yield func(string) bool) {
					for tok := range tokens {
						if !yield(tok) {
							return
						}
					}
				})
				who := rcRace(len(list), func(k int) response { return rcWhoami(t, s, list[k]) })
				for k, r := range who {
					if r.Status != http.StatusOK || rcSessionIdentity(r) != c.id {
						t.Errorf("whoami with token #%d: %s", k, r)
					}
				}
				// The hash ends as one of the configured hasher, and the
				// password still signs in.
				if h := ssStoredHash(t, s, c.id); !strings.HasPrefix(h, "$2a$04$") {
					t.Errorf("stored hash %q after the logins, want bcrypt of cost 4", h)
				}
				ssLogin(t, s, c.email, c.password)
				lcLoginFails(t, s, c.email, c.password+"x")
			})
		}
	})
}

func TestSelfServiceRaceSettingsProfile(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		rcCloseIdleBeforeStop(t)
		const email = "race-settings@example.org"
		id := ssRegister(t, s, email, ssPassword).Identity.Id
		token := *ssLogin(t, s, email, ssPassword).SessionToken

		const n = 10
		flows := make([]string, n)
		for k := range n {
			flows[k] = rcAPIFlow(t, s, "settings", token)
		}
		// Even requests change only the name; odd ones the address too, so
		// identifiers and addresses are replaced concurrently.
		traits := func(k int) map[string]any {
			e := email
			if k%2 == 1 {
				e = "race-settings-" + strconv.Itoa(k) + "@example.org"
			}
			return map[string]any{"email": e, "name": map[string]any{"first": "First" + strconv.Itoa(k), "last": "Last" + strconv.Itoa(k)}}
		}
		out := rcRace(n, func(k int) response {
			return doJSON(t, http.MethodPost, rcSubmitURL(s, "settings", flows[k]), map[string]any{"method": "profile", "traits": traits(k)}, "X-Session-Token", token)
		})
		okCount := 0
		for k, r := range out {
			switch {
			case r.Status == http.StatusOK:
				okCount++
				if f := ssDecodeFlow(t, r.Body); f.State != "success" || f.ID != flows[k] {
					t.Errorf("#%d: flow %s state %q, want its own flow %s in state success", k, f.ID, f.State, flows[k])
				}
			case r.Status >= 400 && r.Status < 500:
				var v map[string]any
				if err := json.Unmarshal(r.Body, &v); err != nil || (v["error"] == nil && v["ui"] == nil) {
					t.Errorf("#%d: %d answer is neither a flow nor an error: %s", k, r.Status, r.Body)
				}
				t.Logf("#%d: clean %d: %s", k, r.Status, r.Body)
			default:
				t.Errorf("#%d: %d %s", k, r.Status, r.Body)
			}
		}
		if okCount == 0 {
			t.Error("no settings submission succeeded")
		}
		t.Logf("answers: %d of %d were 200", okCount, n)

		// The stored traits are exactly one submission's, not a mix, and
		// the addresses and identifier follow the stored address.
		got := lcIdentity(t, s, id)
		match := -1
		for k := range n {
			want, _ := json.Marshal(traits(k))
			have, _ := json.Marshal(got.Traits)
			if string(want) == string(have) {
				match = k
			}
		}
		if match < 0 {
			t.Fatalf("stored traits %v are none of the submitted ones", got.Traits)
		}
		if out[match].Status != http.StatusOK {
			t.Errorf("stored traits are those of submission #%d, which was answered %d", match, out[match].Status)
		}
		stored := got.Traits["email"].(string)
		for what, addrs := range map[string][]map[string]json.RawMessage{"verifiable": got.VerifiableAddresses, "recovery": got.RecoveryAddresses} {
			var values []string
			for _, a := range addrs {
				var v string
				_ = json.Unmarshal(a["value"], &v)
				values = append(values, v)
			}
			if !slices.Equal(values, []string{stored}) {
				t.Errorf("%s addresses %q, want only %q", what, values, stored)
			}
		}
		if pw, ok := got.Credentials["password"]; !ok || !slices.Equal(pw.Identifiers, []string{stored}) {
			t.Errorf("password identifiers %+v, want only %q", got.Credentials, stored)
		}
		ssLogin(t, s, stored, ssPassword)
		if stored != email {
			lcLoginFails(t, s, email, ssPassword)
		}
		if r := rcWhoami(t, s, token); r.Status != http.StatusOK {
			t.Errorf("whoami after the settings race: %s", r)
		}
	})
}

// rcLinkOutcome is what one browser got from opening a one-time link.
type rcLinkOutcome struct {
	r  response
	br *ssBrowser
}

func TestSelfServiceRaceRecoveryLink(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b)
		rcCloseIdleBeforeStop(t)
		s, box := env.s, env.box
		const email = "race-recover@example.org"
		id := ssRegister(t, s, email, ssPassword).Identity.Id
		box.next(t, email) // the verification mail

		flowID := lcRequestRecovery(t, s, email)
		link := box.next(t, email).link(t)

		out := rcOpenAtOnce(t, s, link, 10)
		winners := 0
		for k, o := range out {
			if o.r.Status != http.StatusSeeOther {
				t.Errorf("#%d: %d %s, want 303", k, o.r.Status, o.r.Body)
				continue
			}
			loc := ssLocation(t, o.r)
			switch ssWithoutQuery(loc) {
			case lcUI + "settings":
				winners++
				if ssSetCookie(o.r, "ory_kratos_session") == nil {
					t.Errorf("#%d: sent to settings without a session cookie", k)
				}
				who := o.br.get(ssFlowURL(s, "/sessions/whoami"), "Accept", "application/json")
				if who.Status != http.StatusOK || rcSessionIdentity(who) != id {
					t.Errorf("#%d: whoami of the recovered browser: %s", k, who)
				}
				ssRequireMessage(t, "settings ui.messages", o.br.fetch("settings", loc.Query().Get("flow")).UI.Messages, 1060001)
			case lcUI + "recovery":
				if ssSetCookie(o.r, "ory_kratos_session") != nil {
					t.Errorf("#%d: a losing browser got a session cookie", k)
				}
				nid := loc.Query().Get("flow")
				if nid == "" || nid == flowID {
					t.Errorf("#%d: Location %s, want a new recovery flow", k, loc)
					continue
				}
				nf := o.br.fetch("recovery", nid)
				if !containsID(ssIDs(nf.UI.Messages), 4060004) {
					t.Errorf("#%d: new recovery flow messages %v, want 4060004", k, ssIDs(nf.UI.Messages))
				}
			default:
				t.Errorf("#%d: Location %s", k, loc)
			}
		}
		if winners != 1 {
			t.Errorf("%d browsers recovered the account with one link, want exactly 1", winners)
		}
		if rf := lcFetchAny(t, s, nil, "recovery", flowID); rf.State != "passed_challenge" {
			t.Errorf("recovery flow state %q after the link, want passed_challenge", rf.State)
		}
		if r := ssNewBrowser(t, s).get(link); r.Status != http.StatusSeeOther || ssWithoutQuery(ssLocation(t, r)) != lcUI+"recovery" {
			t.Errorf("the link after the race: %d Location %q", r.Status, r.Header.Get("Location"))
		}
	})
}

func TestSelfServiceRaceVerificationLink(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b)
		rcCloseIdleBeforeStop(t)
		s, box := env.s, env.box
		const email = "race-verify@example.org"
		id := ssRegister(t, s, email, ssPassword).Identity.Id
		box.next(t, email) // the registration's verification mail stays unused

		flowID := lcRequestVerification(t, s, email)
		link := box.next(t, email).link(t)
		if a := lcVerifiable(t, s, id, email); a.Verified {
			t.Fatalf("address verified before the link was opened: %+v", a)
		}

		out := rcOpenAtOnce(t, s, link, 10)
		winners := 0
		for k, o := range out {
			if o.r.Status != http.StatusSeeOther {
				t.Errorf("#%d: %d %s, want 303", k, o.r.Status, o.r.Body)
				continue
			}
			loc := ssLocation(t, o.r)
			if ssWithoutQuery(loc) != lcUI+"verification" {
				t.Errorf("#%d: Location %s, want the verification UI", k, loc)
				continue
			}
			fid := loc.Query().Get("flow")
			if fid == flowID {
				vf := lcFetchAny(t, s, nil, "verification", fid)
				winners++
				if vf.State != "passed_challenge" || !containsID(ssIDs(vf.UI.Messages), 1080002) {
					t.Errorf("#%d: the link's flow: state %q messages %v", k, vf.State, ssIDs(vf.UI.Messages))
				}
				continue
			}
			// A new browser flow, read with that browser's cookies.
			vf := o.br.fetch("verification", fid)
			if !containsID(ssIDs(vf.UI.Messages), 4070001) {
				t.Errorf("#%d: new verification flow messages %v, want 4070001", k, ssIDs(vf.UI.Messages))
			}
		}
		if winners != 1 {
			t.Errorf("%d browsers used the verification link, want exactly 1", winners)
		}
		a := lcVerifiable(t, s, id, email)
		if !a.Verified || a.Status != "completed" || a.VerifiedAt == nil {
			t.Errorf("address after the race %+v, want verified", a)
		}
	})
}

func TestSelfServiceRaceLogout(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		rcCloseIdleBeforeStop(t)
		const email = "race-logout@example.org"
		id := ssRegister(t, s, email, ssPassword).Identity.Id

		t.Run("one token logged out many times, whoami alongside", func(t *testing.T) {
			token := *ssLogin(t, s, email, ssPassword).SessionToken
			const n = 12
			out := rcRace(n, func(k int) response {
				if k%3 == 2 {
					return rcWhoami(t, s, token)
				}
				return doJSON(t, http.MethodDelete, ssFlowURL(s, "/self-service/logout/api"), map[string]any{"session_token": token})
			})
			for k, r := range out {
				switch {
				case k%3 == 2 && (r.Status == http.StatusOK || r.Status == http.StatusUnauthorized):
				case k%3 != 2 && r.Status == http.StatusNoContent:
				default:
					t.Errorf("#%d (%s): %d %s", k, map[bool]string{true: "whoami", false: "logout"}[k%3 == 2], r.Status, r.Body)
				}
			}
			ssRequireNoSession(t, s, token)
		})

		t.Run("DELETE /sessions racing whoami", func(t *testing.T) {
			const m = 4
			tokens := make([]string, m)
			for k := range m {
				tokens[k] = *ssLogin(t, s, email, ssPassword).SessionToken
			}
			const n = 12
			out := rcRace(n, func(k int) response {
				if k%2 == 0 {
					// Every token revokes all the others at once.
					return do(t, http.MethodDelete, ssFlowURL(s, "/sessions"), nil, "X-Session-Token", tokens[(k/2)%m], "Accept", "application/json")
				}
				return rcWhoami(t, s, tokens[(k/2)%m])
			})
			rcNo5xx(t, "DELETE /sessions or whoami", out)
			for k, r := range out {
				if r.Status != http.StatusOK && r.Status != http.StatusUnauthorized {
					t.Errorf("#%d: %d %s, want 200 or 401", k, r.Status, r.Body)
				}
			}
			// Each token was revoked by another's request unless no other
			// request got through before it; at most one can survive.
			alive := 0
			for _, tok := range tokens {
				if r := rcWhoami(t, s, tok); r.Status == http.StatusOK {
					alive++
					if rcSessionIdentity(r) != id {
						t.Errorf("whoami identity %s", rcSessionIdentity(r))
					}
				} else if r.Status != http.StatusUnauthorized {
					t.Errorf("whoami after the race: %s", r)
				}
			}
			if alive > 1 {
				t.Errorf("%d of %d sessions survived concurrent DELETE /sessions of each, want at most 1", alive, m)
			}
		})
	})
}

func TestSelfServiceRaceAdminDelete(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		rcCloseIdleBeforeStop(t)
		for round := range 3 {
			email := fmt.Sprintf("race-delete-%d@example.org", round)
			id := ssRegister(t, s, email, ssPassword).Identity.Id
			const n = 12
			tokens := make([]string, n)
			flows := make([]string, n)
			for k := 1; k < n; k++ {
				switch k % 3 {
				case 0: // settings
					tokens[k] = *ssLogin(t, s, email, ssPassword).SessionToken
					flows[k] = rcAPIFlow(t, s, "settings", tokens[k])
				case 1: // login
					flows[k] = rcAPIFlow(t, s, "login", "")
				case 2: // whoami
					tokens[k] = *ssLogin(t, s, email, ssPassword).SessionToken
				}
			}
			kinds := []string{"settings", "login", "whoami"}
			out := rcRace(n, func(k int) response {
				switch {
				case k == 0:
					return do(t, http.MethodDelete, adminURL(s, "identities/"+id), nil)
				case k%3 == 0:
					return doJSON(t, http.MethodPost, rcSubmitURL(s, "settings", flows[k]), map[string]any{
						"method": "profile", "traits": map[string]any{"email": email, "name": map[string]any{"first": "K" + strconv.Itoa(k)}},
					}, "X-Session-Token", tokens[k])
				case k%3 == 1:
					return doJSON(t, http.MethodPost, rcSubmitURL(s, "login", flows[k]), map[string]any{"method": "password", "identifier": email, "password": ssPassword})
				default:
					return rcWhoami(t, s, tokens[k])
				}
			})
			if out[0].Status != http.StatusNoContent {
				t.Errorf("round %d: admin delete: %s", round, out[0])
			}
			for k := 1; k < n; k++ {
				r := out[k]
				if r.Status < 200 || r.Status >= 500 {
					t.Errorf("round %d: %s #%d racing the delete: %d %s", round, kinds[k%3], k, r.Status, r.Body)
					continue
				}
				// Each answer is one the request gets just before or just
				// after the delete.
				switch {
				case r.Status == http.StatusOK:
				case k%3 == 1 && r.Status == http.StatusBadRequest:
					if ids := ssIDs(ssDecodeFlow(t, r.Body).UI.Messages); !containsID(ids, 4000006) {
						t.Errorf("round %d: login #%d refused with messages %v, want 4000006", round, k, ids)
					}
				case k%3 != 1 && r.Status == http.StatusUnauthorized:
					requireEnvelope(t, r, http.StatusUnauthorized)
				case k%3 == 0 && r.Status == http.StatusNotFound:
					// The settings flow was deleted with its identity.
					requireEnvelope(t, r, http.StatusNotFound)
				default:
					t.Errorf("round %d: %s #%d racing the delete: %d %s", round, kinds[k%3], k, r.Status, r.Body)
				}
				// A login that succeeded hands out a token; it must die
				// with the identity.
				if k%3 == 1 && r.Status == http.StatusOK {
					tokens[k] = decode[struct {
						SessionToken string `json:"session_token"`
					}](t, r).SessionToken
				}
			}
			mix := map[string]int{}
			for k := 1; k < n; k++ {
				mix[kinds[k%3]+" "+strconv.Itoa(out[k].Status)]++
			}
			t.Logf("round %d answers: %v", round, mix)
			if r := do(t, http.MethodGet, adminURL(s, "identities/"+id), nil); r.Status != http.StatusNotFound {
				t.Errorf("round %d: identity after its delete: %s", round, r)
			}
			for k, tok := range tokens {
				if tok == "" {
					continue
				}
				if r := rcWhoami(t, s, tok); r.Status != http.StatusUnauthorized {
					t.Errorf("round %d: token #%d (%s) after the delete: %s, want 401", round, k, kinds[k%3], r)
				}
			}
			if r := do(t, http.MethodGet, adminURL(s, "identities/"+id+"/sessions"), nil); r.Status != http.StatusNotFound && (r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != "[]") {
				t.Errorf("round %d: sessions of the deleted identity: %s", round, r)
			}
			lcLoginFails(t, s, email, ssPassword)
			// The address is free again.
			ssRegister(t, s, email, ssPassword)
		}
	})
}

func TestSelfServiceRaceBrowserBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: ssBrowserConfig})
		rcCloseIdleBeforeStop(t)
		type tc struct {
			kind, field, value string
			json               bool
		}
		var cases []tc
		for _, kind := range []string{"login", "registration"} {
			field := map[string]string{"login": "identifier", "registration": "traits.email"}[kind]
			for _, value := range []string{"bad%FF%FE@example.org", "nul%00@example.org", "%FF", "%00"} {
				for _, asJSON := range []bool{false, true} {
					cases = append(cases, tc{kind, field, value, asJSON})
				}
			}
		}
		// Each case has its own browser and flow; all submit at once. A
		// browser is sent back to the flow with 303, or with 302 from
		// registration (Kratos' quirk, see selfservice_browser_test.go).
		type prepared struct {
			br   *ssBrowser
			f    ssFlow
			csrf string
		}
		preps := make([]prepared, len(cases))
		for k, c := range cases {
			br := ssNewBrowser(t, s)
			f := br.initFlow(c.kind, "")
			preps[k] = prepared{br, f, f.csrf(t)}
		}
		out := rcRace(len(cases), func(k int) response {
			c, p := cases[k], preps[k]
			// Built by hand: url.Values would escape the bytes under test.
			form := "csrf_token=" + url.QueryEscape(p.csrf) + "&method=password&password=" + url.QueryEscape(ssPassword) + "&" + c.field + "=" + c.value
			headers := []string{"Content-Type", "application/x-www-form-urlencoded"}
			if c.json {
				headers = append(headers, "Accept", "application/json")
			}
			return p.br.do(http.MethodPost, p.f.UI.Action, strings.NewReader(form), headers...)
		})
		for k, r := range out {
			c, p := cases[k], preps[k]
			name := fmt.Sprintf("%s %s=%s json=%v", c.kind, c.field, c.value, c.json)
			if c.json {
				if r.Status != http.StatusBadRequest {
					t.Errorf("%s: %d %s, want 400", name, r.Status, r.Body)
					continue
				}
				var v map[string]any
				if err := json.Unmarshal(r.Body, &v); err != nil || (v["error"] == nil && v["ui"] == nil) {
					t.Errorf("%s: 400 answer is neither a flow nor an error: %s", name, r.Body)
				}
				continue
			}
			if r.Status != http.StatusSeeOther && (c.kind != "registration" || r.Status != http.StatusFound) {
				t.Errorf("%s: %d Location %q %s, want a redirect", name, r.Status, r.Header.Get("Location"), r.Body)
				continue
			}
			if ssSetCookie(r, "ory_kratos_session") != nil {
				t.Errorf("%s: bad input signed the browser in", name)
			}
			loc := ssLocation(t, r)
			switch ssWithoutQuery(loc) {
			case ssUI + "error":
				if r.Status != http.StatusSeeOther {
					t.Errorf("%s: %d to the error UI, want 303", name, r.Status)
				}
				if e := ssErrorFromUI(t, s, r); e.Code != http.StatusBadRequest {
					t.Errorf("%s: error UI shows %d %q, want a 400", name, e.Code, e.Message)
				}
			case ssUI + c.kind:
				if want := map[string]int{"login": http.StatusSeeOther, "registration": http.StatusFound}[c.kind]; r.Status != want {
					t.Errorf("%s: %d back to the flow, want %d", name, r.Status, want)
				}
				if loc.Query().Get("flow") != p.f.ID {
					t.Errorf("%s: back to flow %s, want %s", name, loc.Query().Get("flow"), p.f.ID)
					continue
				}
				if ids := rcAllMessages(p.br.fetch(c.kind, p.f.ID)); len(ids) == 0 {
					t.Errorf("%s: back on the flow without any message", name)
				}
			default:
				t.Errorf("%s: Location %s, want the error UI or the %s UI", name, loc, c.kind)
			}
		}
		// Nothing was registered, and the server still serves a valid
		// browser registration.
		if list := decode[[]identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities"), nil)); len(list) != 0 {
			t.Errorf("%d identities after bad input, want 0", len(list))
		}
		br := ssNewBrowser(t, s)
		f := br.initFlow("registration", "")
		r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", "race-browser@example.org"))
		if r.Status != http.StatusSeeOther || ssSetCookie(r, "ory_kratos_session") == nil {
			t.Errorf("valid browser registration after the bad input: %d Location %q", r.Status, r.Header.Get("Location"))
		}
	})
}
