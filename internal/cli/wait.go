package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// banner tells a person who just started the server where everything is and
// what to do next.
func banner(w io.Writer, addr net.Addr, demo, keyFromEnv, tls bool) {
	base := "http://" + addr.String()
	if tls {
		base = "https://" + addr.String()
	}
	fmt.Fprintf(w, "Junction %s listening on %s\n", Version, base)
	key := "the admin key printed above on the first start"
	if keyFromEnv {
		key = "the admin key in JUNCTION_ADMIN_KEY"
	}
	fmt.Fprintf(w, "  console  %s/console/ (sign in with %s)\n", base, key)
	fmt.Fprintf(w, "  Web API  %s/api/data/v9.2/\n", base)
	if demo {
		fmt.Fprintf(w, "  next     the demo's steps, one command each: demo/README.md\n")
	} else {
		fmt.Fprintf(w, "  next     junction keys create --name my-app --role sender --url %s (docs/getting-started.md)\n", base)
	}
}

// wait blocks until a server answers ready, for scripts that start one.
func wait(ctx context.Context, args []string, io IO) int {
	fs := newFlags("wait", io)
	url := fs.String("url", "http://127.0.0.1:8080", "the server's base URL")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait")
	if code, ok := parse(fs, args, io.Env); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	ready := strings.TrimRight(*url, "/") + "/readyz"
	client := &http.Client{Timeout: 2 * time.Second}
	last := "no answer yet"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ready, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(io.Stdout, "Junction at %s is ready\n", *url)
				return exitOK
			}
			last = "it answers " + resp.Status
		} else if msg, ok := unreachable(err); ok {
			last = msg
		} else if ctx.Err() == nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(io.Stderr, "junction wait: %s is not ready after %s: %s\n", *url, *timeout, last)
			return exitFailure
		case <-time.After(100 * time.Millisecond):
		}
	}
}
