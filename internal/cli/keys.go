package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// client is the CLI's view of a running server's management API.
type client struct {
	url string
	key string
	hc  *http.Client
}

func clientFlags(name string, io IO) (*flagSetWithClient, *client) {
	fs := newFlags(name, io)
	c := &client{hc: &http.Client{Timeout: 30 * time.Second}}
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&c.key, "key", "", "API key (default: JUNCTION_KEY, then JUNCTION_ADMIN_KEY)")
	return &flagSetWithClient{fs}, c
}

// do sends a JSON request and decodes a JSON answer into out; an error answer
// becomes an error carrying the server's message.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	return c.send(ctx, method, path, nil, body, out)
}

// send is do with further request headers.
func (c *client) send(ctx context.Context, method, path string, header http.Header, body, out any) error {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.url, "/")+path, rd)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Error.Message == "" {
			e.Error.Message = resp.Status
		}
		return fmt.Errorf("%s (%d %s)", e.Error.Message, resp.StatusCode, e.Error.Code)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

type keyJSON struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Prefix  string    `json:"prefix"`
	Created time.Time `json:"created"`
	Key     string    `json:"key"`
}

func keys(ctx context.Context, args []string, io IO) int {
	if len(args) == 0 {
		fmt.Fprintln(io.Stderr, "usage: junction keys list|create|delete [flags]")
		return exitUsage
	}
	sub, args := args[0], args[1:]
	fs, c := clientFlags("keys "+sub, io)
	var name, role string
	if sub == "create" {
		fs.StringVar(&name, "name", "", "what the key is for")
		fs.StringVar(&role, "role", "", "admin, operator, sender or listener")
	}
	if code, ok := fs.parse(args, io.Env, c); !ok {
		return code
	}
	switch sub {
	case "list":
		var out struct{ Value []keyJSON }
		if err := c.do(ctx, "GET", "/admin/v1/keys", nil, &out); err != nil {
			return failf(io, "keys list: %v", err)
		}
		tw := tabwriter.NewWriter(io.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tPREFIX\tCREATED")
		for _, k := range out.Value {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\n", k.ID, k.Name, k.Role, k.Prefix, k.Created.Format(time.RFC3339))
		}
		tw.Flush()
	case "create":
		if name == "" || role == "" {
			fmt.Fprintln(io.Stderr, "usage: junction keys create --name NAME --role admin|operator|sender|listener")
			return exitUsage
		}
		var k keyJSON
		if err := c.do(ctx, "POST", "/admin/v1/keys", map[string]string{"name": name, "role": role}, &k); err != nil {
			return failf(io, "keys create: %v", err)
		}
		fmt.Fprintf(io.Stdout, "Created key %s (%s, role %s). The key is shown once:\n%s\n", k.ID, k.Name, k.Role, k.Key)
	case "delete":
		if fs.NArg() != 1 {
			fmt.Fprintln(io.Stderr, "usage: junction keys delete ID")
			return exitUsage
		}
		if err := c.do(ctx, "DELETE", "/admin/v1/keys/"+fs.Arg(0), nil, nil); err != nil {
			return failf(io, "keys delete: %v", err)
		}
		fmt.Fprintf(io.Stdout, "Deleted key %s\n", fs.Arg(0))
	default:
		fmt.Fprintf(io.Stderr, "junction keys: unknown subcommand %q\n", sub)
		return exitUsage
	}
	return exitOK
}

// failf prints a command's failure. An error that is a server out of reach
// is said plainly, with what to do about it.
func failf(io IO, format string, args ...any) int {
	hint := ""
	for i, a := range args {
		if err, ok := a.(error); ok {
			if msg, ok := unreachable(err); ok {
				args[i], hint = msg, "\n  Is `junction serve` running there? Start it, or point --url (or JUNCTION_URL) at the server."
			}
		}
	}
	fmt.Fprintf(io.Stderr, "junction "+format+hint+"\n", args...)
	return exitFailure
}

// unreachable describes a failure to connect to the server, if err is one.
func unreachable(err error) (string, bool) {
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "dial" {
		return "", false
	}
	reason := opErr.Err.Error()
	var sysErr *os.SyscallError
	if errors.As(opErr.Err, &sysErr) {
		reason = sysErr.Err.Error()
	}
	addr := ""
	if opErr.Addr != nil {
		addr = " " + opErr.Addr.String()
	}
	return "cannot reach the server at" + addr + " (" + reason + ")", true
}
