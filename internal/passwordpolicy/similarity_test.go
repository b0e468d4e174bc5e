package passwordpolicy

import (
	"math/rand/v2"
	"testing"
)

func TestLevenshtein(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"abc", "abc", 0},
		{"kitten", "sitting", 3},
		{"flaw", "lawn", 2},
		{"saturday", "sunday", 3},
		{"abc", "acb", 2},
		{"über", "uber", 1},
		{"日本語", "日本", 1},
		{"alice@example.com", "alice@example.net!", 4},
	}
	for _, c := range cases {
		if got := levenshtein([]rune(c.a), []rune(c.b)); got != c.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := levenshtein([]rune(c.b), []rune(c.a)); got != c.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}

func TestLongestCommonSubstring(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 0},
		{"abc", "def", 0},
		{"abc", "abc", 3},
		{"xabcy", "zabcw", 3},
		{"alice", "alice2023", 5},
		{"ababc", "babca", 4},
		{"abcdxyz", "xyzabcd", 4},
		{"über-straße", "strasse", 4},
		{"日本語です", "これは日本語", 3},
	}
	for _, c := range cases {
		if got := longestCommonSubstring([]rune(c.a), []rune(c.b)); got != c.want {
			t.Errorf("lcs(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := longestCommonSubstring([]rune(c.b), []rune(c.a)); got != c.want {
			t.Errorf("lcs(%q, %q) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}

// TestSimilarityAgainstReference compares the two-row implementations with
// straightforward full-matrix ones on random strings over a small alphabet.
func TestSimilarityAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcä")
	randomString := func() []rune {
		s := make([]rune, r.IntN(12))
		for i := range s {
			s[i] = alphabet[r.IntN(len(alphabet))]
		}
		return s
	}
	for range 2000 {
		a, b := randomString(), randomString()
		if got, want := levenshtein(a, b), referenceLevenshtein(a, b); got != want {
			t.Fatalf("levenshtein(%q, %q) = %d, reference %d", string(a), string(b), got, want)
		}
		if got, want := longestCommonSubstring(a, b), referenceLCS(a, b); got != want {
			t.Fatalf("lcs(%q, %q) = %d, reference %d", string(a), string(b), got, want)
		}
	}
}

func referenceLevenshtein(a, b []rune) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
		}
	}
	return d[len(a)][len(b)]
}

// referenceLCS tries every pair of start positions.
func referenceLCS(a, b []rune) int {
	best := 0
	for i := range a {
		for j := range b {
			n := 0
			for i+n < len(a) && j+n < len(b) && a[i+n] == b[j+n] {
				n++
			}
			best = max(best, n)
		}
	}
	return best
}
