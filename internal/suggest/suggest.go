// Package suggest finds the word a person most likely meant when they typed
// one that is not known: a command, a flag, an entity set name.
package suggest

import "strings"

// Closest returns the candidate closest to word, ignoring case, when it is at
// most two edits away and the edits are at most a third of its length; ""
// when none is that close. The first of equally close candidates wins.
func Closest(word string, candidates []string) string {
	lower := strings.ToLower(word)
	best, bestDist := "", 3
	for _, c := range candidates {
		d := Distance(lower, strings.ToLower(c), bestDist)
		if d < bestDist && d <= max(len(c)/3, 1) {
			best, bestDist = c, d
		}
	}
	return best
}

// Distance is the edit distance of a and b (insertions, deletions,
// substitutions and transpositions of neighbours, counted in bytes), or limit
// when it is at least limit.
func Distance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	// Three rows of the table: i-2, i-1 and i.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit)
}
