package connector

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Values reads typed values from a connection's parameters or an
// operation's inputs, with errors that name the field.
type Values map[string]any

// String returns a string value; def when absent.
func (v Values) String(name, def string) (string, error) {
	x, ok := v[name]
	if !ok || x == nil {
		return def, nil
	}
	switch s := x.(type) {
	case string:
		return s, nil
	case json.Number:
		return s.String(), nil
	case float64, int, int64, bool:
		return fmt.Sprint(s), nil
	}
	return "", fmt.Errorf("%s must be a string, got %T", name, x)
}

// Required returns a non-empty string value.
func (v Values) Required(name string) (string, error) {
	s, err := v.String(name, "")
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", fmt.Errorf("%s is required", name)
	}
	return s, nil
}

// Int returns an integer value; def when absent.
func (v Values) Int(name string, def int64) (int64, error) {
	x, ok := v[name]
	if !ok || x == nil {
		return def, nil
	}
	switch n := x.(type) {
	case float64:
		if n != float64(int64(n)) {
			return 0, fmt.Errorf("%s must be an integer, got %v", name, n)
		}
		return int64(n), nil
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case json.Number:
		return n.Int64()
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s must be an integer, got %q", name, n)
		}
		return i, nil
	}
	return 0, fmt.Errorf("%s must be an integer, got %T", name, x)
}

// Bool returns a boolean value; def when absent.
func (v Values) Bool(name string, def bool) (bool, error) {
	x, ok := v[name]
	if !ok || x == nil {
		return def, nil
	}
	switch b := x.(type) {
	case bool:
		return b, nil
	case string:
		p, err := strconv.ParseBool(b)
		if err != nil {
			return false, fmt.Errorf("%s must be true or false, got %q", name, b)
		}
		return p, nil
	}
	return false, fmt.Errorf("%s must be a boolean, got %T", name, x)
}

// Object returns an object value; nil when absent.
func (v Values) Object(name string) (map[string]any, error) {
	x, ok := v[name]
	if !ok || x == nil {
		return nil, nil
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object, got %T", name, x)
	}
	return m, nil
}

// Array returns an array value; nil when absent.
func (v Values) Array(name string) ([]any, error) {
	x, ok := v[name]
	if !ok || x == nil {
		return nil, nil
	}
	a, ok := x.([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an array, got %T", name, x)
	}
	return a, nil
}

// Bytes returns a value as bytes: a string as its UTF-8, anything else as JSON.
func (v Values) Bytes(name string) ([]byte, error) {
	x, ok := v[name]
	if !ok || x == nil {
		return nil, nil
	}
	if s, ok := x.(string); ok {
		return []byte(s), nil
	}
	return json.Marshal(x)
}

// Fail wraps err as the operation's error, retryable when Transient says so.
func Fail(connectorName, op string, err error) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		if ce.Connector == "" {
			ce.Connector = connectorName
		}
		if ce.Operation == "" {
			ce.Operation = op
		}
		return ce
	}
	return &Error{Connector: connectorName, Operation: op, Retryable: Transient(err), Err: err}
}

// BadInput is an operation's error for inputs it cannot use; never retryable.
func BadInput(connectorName, op string, err error) *Error {
	return &Error{Connector: connectorName, Operation: op, Status: 400, Err: err}
}

// Transient reports whether err is the kind of failure that trying again may
// cure: timeouts, refused or reset connections, unreachable hosts, a
// cancelled deadline.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EPIPE, syscall.ETIMEDOUT} {
		if errors.Is(err, e) {
			return true
		}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "i/o timeout") || strings.Contains(msg, "broken pipe")
}

// Content reads a file operation's "content" input, decoded from base64 when
// "encoding" is "base64" (text otherwise).
func (v Values) Content() ([]byte, error) {
	content, err := v.String("content", "")
	if err != nil {
		return nil, err
	}
	if enc, _ := v.String("encoding", "text"); enc == "base64" {
		data, err := base64.StdEncoding.DecodeString(content)
		if err != nil {
			return nil, errors.New("content is not base64")
		}
		return data, nil
	}
	return []byte(content), nil
}

// ContentOutput is a file read's output: the data as text, or as base64 when
// the inputs ask for "encoding": "base64".
func (v Values) ContentOutput(data []byte) map[string]any {
	content := string(data)
	if enc, _ := v.String("encoding", "text"); enc == "base64" {
		content = base64.StdEncoding.EncodeToString(data)
	}
	return map[string]any{"content": content, "size": len(data)}
}
