package bench

import (
	"fmt"
	"os"
	"strings"
)

// WriteSection puts body into the markdown file path between the markers
// <!-- hoplite-bench:ID begin --> and <!-- hoplite-bench:ID end -->:
// replacing the section with that id when the file has one, appending it
// otherwise. Everything else in the file is kept. A missing file is created
// with header as its first lines.
func WriteSection(path, id, header, body string) error {
	begin := fmt.Sprintf("<!-- hoplite-bench:%s begin -->", id)
	end := fmt.Sprintf("<!-- hoplite-bench:%s end -->", id)
	section := begin + "\n" + strings.TrimRight(body, "\n") + "\n" + end + "\n"
	old, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		old = []byte(strings.TrimRight(header, "\n") + "\n")
	case err != nil:
		return err
	}
	doc := string(old)
	if b := strings.Index(doc, begin); b >= 0 {
		if e := strings.Index(doc[b:], end); e >= 0 {
			rest := doc[b+e+len(end):]
			rest = strings.TrimPrefix(rest, "\n")
			return os.WriteFile(path, []byte(doc[:b]+section+rest), 0o644)
		}
		return fmt.Errorf("%s: %q has no matching %q", path, begin, end)
	}
	if !strings.HasSuffix(doc, "\n") {
		doc += "\n"
	}
	return os.WriteFile(path, []byte(doc+"\n"+section), 0o644)
}
