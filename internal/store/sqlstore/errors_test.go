package sqlstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/hoplite-id/hoplite/internal/store"
)

// Driver errors become the store's sentinels whatever the database, and only
// deadlocks and serialization failures make tx run a transaction again.
func TestDriverErrors(t *testing.T) {
	s := &Store{}
	wrap := func(err error) error { return fmt.Errorf("inserting: %w", err) }
	for _, c := range []struct {
		name     string
		err      error
		sentinel error
		retry    bool
	}{
		{"postgres unique", &pgconn.PgError{Code: "23505"}, store.ErrConflict, false},
		{"postgres foreign key", &pgconn.PgError{Code: "23503"}, store.ErrNotFound, false},
		{"postgres NUL in text", &pgconn.PgError{Code: "22021"}, store.ErrInvalidText, false},
		{"postgres deadlock", &pgconn.PgError{Code: "40P01"}, nil, true},
		{"postgres serialization", &pgconn.PgError{Code: "40001"}, nil, true},
		{"postgres syntax", &pgconn.PgError{Code: "42601"}, nil, false},
		{"mysql duplicate", &mysql.MySQLError{Number: 1062}, store.ErrConflict, false},
		{"mysql foreign key", &mysql.MySQLError{Number: 1452}, store.ErrNotFound, false},
		{"mysql string value", &mysql.MySQLError{Number: 1366}, store.ErrInvalidText, false},
		{"mysql deadlock", &mysql.MySQLError{Number: 1213}, nil, true},
		{"mysql lock wait timeout", &mysql.MySQLError{Number: 1205}, nil, true}, // the whole transaction is rolled back and run again
		{"sqlite unique", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}, store.ErrConflict, false},
		{"sqlite foreign key", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintForeignKey}, store.ErrNotFound, false},
		{"sqlite busy", sqlite3.Error{Code: sqlite3.ErrBusy}, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := wrap(c.err)
			mapped := s.mapErr(err)
			for _, sentinel := range []error{store.ErrConflict, store.ErrNotFound, store.ErrInvalidText} {
				if got, want := errors.Is(mapped, sentinel), sentinel == c.sentinel; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", mapped, sentinel, got, want)
				}
			}
			if got := isTxConflict(err); got != c.retry {
				t.Errorf("isTxConflict = %v, want %v", got, c.retry)
			}
		})
	}
}
