package config

import (
	"errors"
	"testing"
)

func TestBaseURLGuess(t *testing.T) {
	host := func() (string, error) { return "id-host.internal", nil }
	for _, tc := range []struct {
		name        string
		dev         bool
		doc         string
		public      string
		admin       string
		hostnameErr bool
	}{
		{name: "dev defaults listen on loopback", dev: true, public: "http://127.0.0.1:4433/", admin: "http://127.0.0.1:4434/"},
		{name: "dev wildcard host is localhost", dev: true, doc: "serve:\n  public:\n    host: 0.0.0.0\n  admin:\n    host: ''\n",
			public: "http://localhost:4433/", admin: "http://localhost:4434/"},
		{name: "production wildcard host is the hostname", doc: minimal,
			public: "https://id-host.internal:4433/", admin: "https://id-host.internal:4434/"},
		{name: "production hostname unknown", doc: minimal, hostnameErr: true,
			public: "https://localhost:4433/", admin: "https://localhost:4434/"},
		{name: "explicit host and port", doc: minimal + "serve:\n  public:\n    host: auth.example.org\n    port: 8443\n  admin:\n    host: '::1'\n",
			public: "https://auth.example.org:8443/", admin: "https://[::1]:4434/"},
		{name: "IPv6 wildcard", dev: true, doc: "serve:\n  public:\n    host: '::'\n", public: "http://localhost:4433/", admin: "http://127.0.0.1:4434/"},
		{name: "configured base URLs win", doc: minimal + "serve:\n  public:\n    base_url: https://id.example.org/.ory/kratos/public/\n  admin:\n    base_url: http://kratos-admin:4434/\n",
			public: "https://id.example.org/.ory/kratos/public/", admin: "http://kratos-admin:4434/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := host
			if tc.hostnameErr {
				h = func() (string, error) { return "", errors.New("no hostname") }
			}
			var docs [][]byte
			if tc.doc != "" {
				docs = append(docs, []byte(tc.doc))
			}
			c, err := LoadBytes(docs, noEnv, tc.dev, WithHostname(h))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.PublicBaseURL().String(); got != tc.public {
				t.Errorf("PublicBaseURL = %s, want %s", got, tc.public)
			}
			if got := c.AdminBaseURL().String(); got != tc.admin {
				t.Errorf("AdminBaseURL = %s, want %s", got, tc.admin)
			}
		})
	}
}

func TestBaseURLIsACopy(t *testing.T) {
	c := mustLoadYAML(t, true, noEnv)
	u := c.PublicBaseURL()
	u.Path = "/changed"
	if c.PublicBaseURL().Path != "/" {
		t.Error("PublicBaseURL must return a fresh URL each call")
	}
}
