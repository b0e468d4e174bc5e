package sqlstore

import (
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// DescribeDSN names the database a DSN points at for the start-up log: its
// kind and where it is (host and database name, or the SQLite file), never
// the user name, password or options.
func DescribeDSN(dsn string) (kind Dialect, where string) {
	p, err := ParseDSN(dsn)
	if err != nil {
		return "", "unknown"
	}
	dsn = strings.TrimSpace(dsn)
	switch {
	case p.InMemory:
		return p.Dialect, "in memory"
	case p.Dialect == SQLite:
		rest := dsn[strings.Index(dsn, "://")+3:]
		path, _, _ := strings.Cut(rest, "?")
		return p.Dialect, path
	case p.Dialect == Postgres:
		u, err := url.Parse(dsn)
		if err != nil {
			return p.Dialect, "unknown"
		}
		return p.Dialect, u.Host + u.Path
	case p.Dialect == MySQL:
		cfg, err := mysql.ParseDSN(dsn[strings.Index(dsn, "://")+3:])
		if err != nil {
			return p.Dialect, "unknown"
		}
		return p.Dialect, cfg.Addr + "/" + cfg.DBName
	}
	return p.Dialect, "unknown"
}
