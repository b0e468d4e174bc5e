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
	// ErrInvalidText means a text value holds characters the database cannot
	// store or compare (a NUL character on PostgreSQL, for example). No
	// stored value can equal such text, so lookups treat it as absent.
	ErrInvalidText error = invalidText{}
)

type invalidText struct{}

func (invalidText) Error() string { return "the text contains characters that cannot be stored" }

// InvalidReason tells the HTTP edge that the caller sent the text.
func (invalidText) InvalidReason() string {
	return "The request contains text with characters that cannot be stored, such as a NUL character."
}
