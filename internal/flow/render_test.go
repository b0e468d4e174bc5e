package flow

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// registrationUI builds the form of a password registration flow as the
// engine and the password method do: csrf token, one input per trait,
// password, submit; sorted; the flow marshalled for the wire.
func registrationUI(sc *schema.Schema, order []string) *Flow {
	now := time.Now().UTC()
	f := &Flow{ID: uuid.New(), Kind: Registration, Type: TypeBrowser, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		RequestURL: "http://127.0.0.1:4433/self-service/registration/browser"}
	f.UI = ui.NewContainer("http://127.0.0.1:4433/self-service/registration?flow=" + f.ID.String())
	f.UI.SetCSRF("masked-token")
	for _, n := range TraitNodes(sc, ui.GroupPassword, nil) {
		f.UI.Upsert(n)
	}
	f.UI.Upsert(ui.NewInput("password", nil, ui.GroupPassword, ui.InputPassword, ui.Required(), ui.WithLabel(ui.InfoNodeLabelPassword())))
	f.UI.Upsert(ui.NewInput("method", "password", ui.GroupPassword, ui.InputSubmit, ui.WithLabel(ui.InfoRegistration())))
	f.UI.Sort(ui.SortOrder{Groups: []string{ui.GroupDefault, ui.GroupOIDC, ui.GroupWebAuthn, ui.GroupPassword}, First: []string{ui.CSRFTokenName}, SchemaOrder: order})
	return f
}

func builtinSchema(t testing.TB) (*schema.Schema, []string) {
	reg, err := schema.Load(context.Background(), []schema.Source{schema.BuiltinSource()}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := reg.Default()
	var order []string
	for k, f := range sc.FormFields() {
		order = append(order, f.Name)
		if k == 0 {
			order = append(order, "password")
		}
	}
	return sc, order
}

func TestRegistrationUIOrder(t *testing.T) {
	sc, order := builtinSchema(t)
	f := registrationUI(sc, order)
	var names []string
	for _, n := range f.UI.Nodes {
		names = append(names, n.ID())
	}
	want := []string{"csrf_token", "traits.email", "password", "traits.name.first", "traits.name.last", "method"}
	if len(names) != len(want) {
		t.Fatalf("nodes %v, want %v", names, want)
	}
	for k := range want {
		if names[k] != want[k] {
			t.Fatalf("nodes %v, want %v", names, want)
		}
	}
	raw, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		UI ui.Container `json:"ui"`
	}
	if err := json.Unmarshal(raw, &back); err != nil || len(back.UI.Nodes) != len(want) {
		t.Fatalf("the rendered flow does not decode back: %v", err)
	}
}

// BenchmarkRenderRegistrationUI measures building and encoding a flow's
// form: what every flow init and every failed submission pays.
func BenchmarkRenderRegistrationUI(b *testing.B) {
	sc, order := builtinSchema(b)
	b.ReportAllocs()
	for b.Loop() {
		f := registrationUI(sc, order)
		if _, err := json.Marshal(f); err != nil {
			b.Fatal(err)
		}
	}
}
