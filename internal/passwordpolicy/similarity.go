package passwordpolicy

import "strings"

const (
	// minIdentifierDistance: passwords whose edit distance to the identifier
	// is below this are too similar.
	minIdentifierDistance = 5
	// maxCommonSubstringRatio: passwords sharing a common substring with the
	// identifier longer than this fraction of the password are too similar.
	maxCommonSubstringRatio = 0.5
	// maxSimilarityRunes bounds the inputs of the quadratic algorithms below.
	// Thanks to the length shortcuts in tooSimilar it only matters for
	// identifiers longer than half of it, which identity schemas do not allow
	// in practice.
	maxSimilarityRunes = 4096
)

// tooSimilar reports whether password is too similar to identifier, compared
// case-insensitively: the Levenshtein distance is below 5, or the longest
// common substring covers more than half of the password. An empty
// identifier is never similar.
func tooSimilar(identifier, password string) bool {
	if identifier == "" {
		return false
	}
	id := []rune(strings.ToLower(identifier))
	pw := []rune(strings.ToLower(password))

	// The edit distance is at least the difference in length, so it only
	// needs computing when the lengths are close.
	diff := len(id) - len(pw)
	if diff < 0 {
		diff = -diff
	}
	if diff < minIdentifierDistance && len(id) <= maxSimilarityRunes && len(pw) <= maxSimilarityRunes &&
		levenshtein(id, pw) < minIdentifierDistance {
		return true
	}

	// A common substring is at most as long as the identifier, so it can
	// only cover more than half of the password if the identifier is longer
	// than half of the password.
	if len(pw) == 0 || float64(len(id)) <= maxCommonSubstringRatio*float64(len(pw)) ||
		len(id) > maxSimilarityRunes || len(pw) > maxSimilarityRunes {
		return false
	}
	return float64(longestCommonSubstring(id, pw))/float64(len(pw)) > maxCommonSubstringRatio
}

// levenshtein returns the edit distance between a and b: the minimum number
// of single rune insertions, deletions and substitutions turning a into b.
func levenshtein(a, b []rune) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	// prev[j] is the distance between the current prefix of a and b[:j].
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			substitution := prev[j-1]
			if a[i-1] != b[j-1] {
				substitution++
			}
			cur[j] = min(substitution, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// longestCommonSubstring returns the length, in runes, of the longest
// contiguous run of runes appearing in both a and b.
func longestCommonSubstring(a, b []rune) int {
	// run[j] is the length of the common run ending at the current rune of a
	// and at b[j-1].
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	best := 0
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
				best = max(best, cur[j])
			} else {
				cur[j] = 0
			}
		}
		prev, cur = cur, prev
	}
	return best
}
