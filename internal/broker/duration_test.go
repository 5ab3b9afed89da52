package broker

import (
	"testing"
	"time"
)

func TestDurations(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]time.Duration{"PT1M": time.Minute, "PT30S": 30 * time.Second, "P1DT2H": 26 * time.Hour, "PT0.5S": 500 * time.Millisecond,
		"P10675199DT2H48M5.4775807S": MaxTTL, "pt5m": 5 * time.Minute} {
		got, err := ParseDuration(s)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "P", "PT", "1M", "PT-1S", "P1Y", "PT1M1H"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", s)
		}
	}
	if FormatDuration(26*time.Hour+90*time.Second) != "P1DT2H1M30S" {
		t.Errorf("FormatDuration = %s", FormatDuration(26*time.Hour+90*time.Second))
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT1M", "P1DT2H3M4.5S", "P10675199DT2H48M5.4775807S", "PT0S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q parsed to a negative duration %v", s, d)
		}
		if d < 1000*time.Hour {
			back, err := ParseDuration(FormatDuration(d))
			if err != nil || back != d {
				t.Fatalf("%q -> %v -> %q -> %v, %v", s, d, FormatDuration(d), back, err)
			}
		}
	})
}

func TestNeverIsWrittenAsServiceBusWritesIt(t *testing.T) {
	t.Parallel()
	if FormatDuration(MaxTTL) != "P10675199DT2H48M5.4775807S" {
		t.Fatal(FormatDuration(MaxTTL))
	}
	if d, _ := ParseDuration(FormatDuration(MaxTTL)); d != MaxTTL {
		t.Fatal(d)
	}
}
