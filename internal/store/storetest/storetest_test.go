package storetest

import (
	"testing"

	"junction/internal/store"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, d := range Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			RunConformance(t, func(t *testing.T) store.Store { return Open(t, d) })
		})
	}
}
