package redis_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"junction/internal/connector/connectortest"
	"junction/internal/connector/redis"
)

const addr = "127.0.0.1:6379"

func requireRedis(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("Redis at %s is required (scripts/deps/services.sh starts it): %v", addr, err)
	}
	c.Close()
}

func key() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "junction-test:" + hex.EncodeToString(b)
}

func TestDescription(t *testing.T) {
	t.Parallel()
	connectortest.Describe(t, redis.New(nil))
}

func TestGetSetPublish(t *testing.T) {
	t.Parallel()
	requireRedis(t)
	c := redis.New(nil)
	conn := map[string]any{"address": addr, "database": 2.0}
	k := key()
	out := connectortest.Invoke(t, c, conn, "get", map[string]any{"key": k}).(map[string]any)
	if out["exists"] != false || out["value"] != nil {
		t.Fatalf("missing key: %v", out)
	}
	out = connectortest.Invoke(t, c, conn, "set", map[string]any{"key": k, "value": map[string]any{"a": 1.0}, "expirySeconds": 60.0}).(map[string]any)
	if out["written"] != true {
		t.Fatalf("set: %v", out)
	}
	out = connectortest.Invoke(t, c, conn, "set", map[string]any{"key": k, "value": "other", "onlyIfAbsent": true}).(map[string]any)
	if out["written"] != false {
		t.Fatalf("set NX: %v", out)
	}
	out = connectortest.Invoke(t, c, conn, "get", map[string]any{"key": k}).(map[string]any)
	if out["value"] != `{"a":1}` {
		t.Fatalf("get: %v", out)
	}
	// The key lives in database 2 only.
	if out := connectortest.Invoke(t, c, map[string]any{"address": addr}, "get", map[string]any{"key": k}).(map[string]any); out["exists"] != false {
		t.Fatalf("database 0: %v", out)
	}

	// A subscriber on a raw connection receives what is published.
	sub, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	r, w := bufio.NewReader(sub), bufio.NewWriter(sub)
	ch := key()
	if err := redis.WriteCommand(w, "SUBSCRIBE", ch); err != nil {
		t.Fatal(err)
	}
	if _, err := redis.ReadReply(r); err != nil {
		t.Fatal(err)
	}
	out = connectortest.Invoke(t, c, conn, "publish", map[string]any{"channel": ch, "message": "hi there"}).(map[string]any)
	if out["receivers"] != int64(1) {
		t.Fatalf("publish: %v", out)
	}
	msg, err := redis.ReadReply(r)
	if err != nil {
		t.Fatal(err)
	}
	if m := msg.([]any); m[0] != "message" || m[1] != ch || m[2] != "hi there" {
		t.Fatalf("message: %v", msg)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	requireRedis(t)
	c := redis.New(nil)
	connectortest.Fails(t, c, map[string]any{"address": "127.0.0.1:1"}, "get", map[string]any{"key": "x"}, true)
	ce := connectortest.Fails(t, c, map[string]any{"address": addr, "username": "nobody", "password": "wrong-password"}, "get", map[string]any{"key": "x"}, false)
	if !strings.Contains(ce.Error(), "authenticate") {
		t.Fatalf("auth: %v", ce)
	}
	connectortest.Fails(t, c, map[string]any{"address": "no-port"}, "get", map[string]any{"key": "x"}, false)
	connectortest.Fails(t, c, map[string]any{"address": addr}, "set", map[string]any{"key": "x"}, false)
	// A server that accepts and never answers: a timeout, retryable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	connectortest.Fails(t, c, map[string]any{"address": l.Addr().String(), "timeoutSeconds": 1.0}, "get", map[string]any{"key": "x"}, true)
}

func TestReadReply(t *testing.T) {
	t.Parallel()
	in := "+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n"
	r := bufio.NewReader(strings.NewReader(in))
	want := []any{"OK", redis.ServerError("ERR bad"), int64(42), "hello", nil}
	for _, w := range want {
		got, err := redis.ReadReply(r)
		if err != nil || got != w {
			t.Fatalf("got %#v %v, want %#v", got, err, w)
		}
	}
	got, err := redis.ReadReply(r)
	if a, ok := got.([]any); err != nil || !ok || len(a) != 2 || a[0] != "a" || a[1] != int64(1) {
		t.Fatalf("array: %#v %v", got, err)
	}
	for _, bad := range []string{"", "?x\r\n", "$5\r\nhi\r\n", ":x\r\n", "$3\r\nabcde", "*1\r\n", "+no crlf\n"} {
		if _, err := redis.ReadReply(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("*2\r\n$1\r\na\r\n:1\r\n"))
	f.Add([]byte("%1\r\n+k\r\n#t\r\n"))
	f.Add([]byte("$-1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = redis.ReadReply(bufio.NewReader(bytes.NewReader(data)))
	})
}
