package jsonpos

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"a": 1}`, ""},
		{"{\n  \"a\": 1,\n  \"b\": }\n", "line 3, column 8: invalid character '}' looking for beginning of value"},
		{"{\n  \"type\": \"object\",\n  \"properties\": {\n    \"traits\": {", "line 4, column 16: the document ends before it is complete"},
		{"{\"a\": 1}\n{\"b\": 2}", "line 2, column 1: unexpected data after the end of the document"},
		{"", "the document is empty"},
	} {
		err := Check([]byte(tc.doc))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.doc, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want %q", tc.doc, err, tc.want)
		}
	}
}
