package webapi

import (
	"regexp"
	"testing"
)

// TestVersionSegment: the version segments the Web API answers on are
// those of the pattern ^v9\.\d+$.
func TestVersionSegment(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^v9\.\d+$`)
	for _, seg := range []string{"v9.2", "v9.0", "v9.10", "v9.", "v9", "v8.0", "v9.2a", "v9.2.1", "V9.2", "v9.x", "v9.٣", "", "v9.2 ", " v9.2", "v99.2", "v9.0002"} {
		if got, want := isVersionSeg(seg), re.MatchString(seg); got != want {
			t.Errorf("isVersionSeg(%q) = %v, want %v", seg, got, want)
		}
	}
}
