// Package store defines the storage errors every store implementation
// returns, so that domain code can tell "absent" and "taken" apart from
// failures without knowing which database is behind it.
package store

import "errors"

var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("record not found")
	// ErrConflict means a unique value (identifier, address, token) is taken.
	ErrConflict = errors.New("a record with the same unique value exists already")
)
