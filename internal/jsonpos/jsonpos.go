// Package jsonpos places JSON decoding errors in their document: the line
// and column of the offending byte, so that an operator can find a typo or
// a truncation in a configuration or schema file.
package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Position is a 1-based line and column (in bytes) of a document.
type Position struct{ Line, Column int }

func (p Position) String() string { return fmt.Sprintf("line %d, column %d", p.Line, p.Column) }

// At returns the position of byte offset in data.
func At(data []byte, offset int64) Position {
	offset = max(0, min(offset, int64(len(data))))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return Position{Line: line, Column: col}
}

// Check decodes data as one JSON value and, when that fails, returns an
// error naming the position: "line 3, column 14: invalid character '}'
// looking for beginning of value", or "line 12, column 1: the document ends
// before it is complete" for a truncated document.
func Check(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	err := dec.Decode(&v)
	if err == nil {
		end := dec.InputOffset()
		rest := bytes.TrimLeft(data[end:], " \t\r\n")
		if len(rest) > 0 {
			return fmt.Errorf("%s: unexpected data after the end of the document", At(data, int64(len(data)-len(rest))))
		}
		return nil
	}
	return Describe(data, err)
}

// Describe adds the position to an encoding/json error about data.
func Describe(data []byte, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF) && len(bytes.TrimSpace(data)) > 0:
		return fmt.Errorf("%s: the document ends before it is complete (is the file truncated?)", At(data, int64(len(data))))
	case errors.Is(err, io.EOF):
		return errors.New("the document is empty")
	case errors.As(err, &syn):
		msg := strings.TrimPrefix(syn.Error(), "json: ")
		if msg == "unexpected end of JSON input" {
			return fmt.Errorf("%s: the document ends before it is complete (is the file truncated?)", At(data, int64(len(data))))
		}
		// The offset is just past the offending byte.
		return fmt.Errorf("%s: %s", At(data, max(0, syn.Offset-1)), msg)
	}
	return err
}
