package retention

import (
	"strings"
	"testing"
	"time"
)

func TestChangeLogHardMaximum(t *testing.T) {
	t.Parallel()
	day := Period(24 * time.Hour)
	for _, c := range []struct {
		s       Settings
		wantErr string
		wantMax Period
	}{
		{Settings{}, "", 30 * day},
		{Settings{Changes: day}, "", 30 * day},
		{Settings{Changes: 60 * day}, "", 60 * day}, // an unset maximum follows a longer retention
		{Settings{Changes: Forever}, "", Forever},
		{Settings{Changes: day, ChangesMax: day}, "", day},
		{Settings{Changes: 10 * day, ChangesMax: 2 * day}, "--retain-changes-max: 2d is shorter than --retain-changes (10d)", 0},
		{Settings{ChangesMax: 2 * day}, "--retain-changes-max: 2d is shorter than --retain-changes (7d)", 0},
		{Settings{Changes: Forever, ChangesMax: 90 * day}, "--retain-changes-max: 90d is shorter than --retain-changes (forever)", 0},
	} {
		err := c.s.Validate()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", c.s, err)
		case c.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), c.wantErr)):
			t.Errorf("%+v: got %v, want %s", c.s, err, c.wantErr)
		case c.wantErr == "" && c.s.WithDefaults().ChangesMax != c.wantMax:
			t.Errorf("%+v: maximum in force %s, want %s", c.s, c.s.WithDefaults().ChangesMax, c.wantMax)
		}
	}
}
