package e2e_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	kratos "github.com/ory/kratos-client-go"
	"go.yaml.in/yaml/v3"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// kratosConfig returns testdata/kratos-v0.9.yml (a realistic Kratos v0.9
// configuration; the files it references sit next to it) adjusted to run
// here: the test's database, and no listener settings (the test server picks
// its own loopback ports and plain HTTP, so the TLS paths of the file, which
// do not exist here, are dropped too).
func kratosConfig(t *testing.T, dsn string) string {
	t.Helper()
	raw, err := os.ReadFile("testdata/kratos-v0.9.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["dsn"] = dsn
	serve, _ := doc["serve"].(map[string]any)
	for _, port := range []string{"public", "admin"} {
		p, ok := serve[port].(map[string]any)
		if !ok {
			t.Fatalf("serve.%s missing in the Kratos config", port)
		}
		for _, k := range []string{"base_url", "host", "port", "tls"} {
			delete(p, k)
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestKratosV09Config(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		s := testutil.StartServer(t, testutil.Options{Config: kratosConfig(t, b.NewDSN(t)), NotDev: true})

		for name, c := range map[string]*kratos.APIClient{"public": s.Public, "admin": s.Admin} {
			if res, _, err := c.MetadataApi.IsAlive(ctx).Execute(); err != nil || res.Status != "ok" {
				t.Errorf("%s alive: %v %v", name, res, err)
			}
			if res, _, err := c.MetadataApi.IsReady(ctx).Execute(); err != nil || res.Status != "ok" {
				t.Errorf("%s ready: %v %v", name, res, err)
			}
		}
		// The schema file of the config is the one served.
		doc, _, err := s.Public.V0alpha2Api.GetJsonSchema(ctx, "default").Execute()
		if err != nil || doc["$id"] != "https://hoplite.example/schemas/default.schema.json" {
			t.Fatalf("schema: %v %v", doc["$id"], err)
		}

		body := kratos.NewAdminCreateIdentityBody("", traits("Kratos.Config@Example.org"))
		body.Credentials = &kratos.AdminIdentityImportCredentials{Password: &kratos.AdminCreateIdentityImportCredentialsPassword{
			Config: &kratos.AdminCreateIdentityImportCredentialsPasswordConfig{Password: kratos.PtrString("a sufficiently long password")},
		}}
		created, res, err := s.Admin.V0alpha2Api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*body).Execute()
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("create: %v %s", err, sdkErrorBody(err))
		}
		if created.SchemaUrl != s.PublicURL+"schemas/ZGVmYXVsdA" {
			t.Errorf("schema_url %q", created.SchemaUrl)
		}
		// hashers.argon2 of the file: 128MB, 2 iterations, parallelism 4.
		if h := storedPasswordHash(t, s, created.Id); !strings.HasPrefix(h, "$argon2id$v=19$m=131072,t=2,p=4$") {
			t.Errorf("password hash %q does not follow hashers.argon2 of the config", h)
		}
		list, _, err := s.Admin.V0alpha2Api.AdminListIdentities(ctx).Execute()
		if err != nil || len(list) != 1 || list[0].Id != created.Id {
			t.Errorf("list: %v %v", list, err)
		}

		// Every key the file sets but Hoplite does not implement yet was
		// logged, one warning each.
		unsupported := s.App.Config.Unsupported()
		// (Only keys of features not planned soon are named here; the rest
		// of the list shrinks as features land.)
		for _, k := range []string{"tracing.provider", "tracing.service_name", "tracing.providers.jaeger.local_agent_address"} {
			if !slices.Contains(unsupported, k) {
				t.Errorf("%s is not reported as unsupported (%v)", k, unsupported)
			}
		}
		logs := s.Logs.String()
		for _, k := range unsupported {
			if !strings.Contains(logs, "key="+k+"\n") {
				t.Errorf("unsupported key %s was not logged", k)
			}
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, "not supported") && !strings.Contains(line, "level=WARN") {
				t.Errorf("unsupported key logged below warning level: %s", line)
			}
		}
		// Implemented keys are not reported.
		for _, k := range []string{"dsn", "hashers.algorithm", "identity.schemas", "selfservice.flows.login.ui_url"} {
			if slices.Contains(unsupported, k) || strings.Contains(logs, "key="+k+"\n") {
				t.Errorf("implemented key %s reported as unsupported", k)
			}
		}
	})
}
