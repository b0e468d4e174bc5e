package sqlstore

import (
	"strings"
	"testing"
)

func TestDescribeDSNHidesCredentials(t *testing.T) {
	for _, tc := range []struct{ dsn, kind, where string }{
		{"memory", "sqlite", "in memory"},
		{"sqlite:///var/lib/hoplite/db.sqlite?_fk=true", "sqlite", "/var/lib/hoplite/db.sqlite"},
		{"postgres://hoplite:s3cret-pw@db.internal:5432/identities?sslmode=require&max_conns=20", "postgres", "db.internal:5432/identities"},
		{"mysql://root:s3cret-pw@tcp(127.0.0.1:3306)/hoplite?parseTime=true", "mysql", "127.0.0.1:3306/hoplite"},
		{"oracle://x", "", "unknown"},
	} {
		kind, where := DescribeDSN(tc.dsn)
		if string(kind) != tc.kind || where != tc.where {
			t.Errorf("%s: %q %q, want %q %q", tc.dsn, kind, where, tc.kind, tc.where)
		}
		if strings.Contains(where, "s3cret") || strings.Contains(where, "hoplite:") {
			t.Errorf("%s: credentials in %q", tc.dsn, where)
		}
	}
}
