package function_test

import (
	"context"
	"os"
	"testing"

	"junction/internal/function"
	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/project"
	"junction/internal/store/storetest"
)

func TestHostLifecycle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
				ctx := context.Background()
				s := storetest.Open(t, d)
				if err := s.Migrate(ctx, function.Migrations()); err != nil {
					t.Fatal(err)
				}
				// A timer function, so that the host has a loop to stop.
				dir := t.TempDir()
				writeFiles(t, dir, timerApp)
				p, problems := project.Open(os.DirFS(dir), dir)
				if len(problems) > 0 {
					t.Fatal(problems)
				}
				c := function.NewComponent(function.Config{Store: s, DataDir: t.TempDir()})
				if err := c.LoadProject(ctx, p); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Stop(context.Background()) })
				return c
			})
		})
	}
}
