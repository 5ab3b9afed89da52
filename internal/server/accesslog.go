package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// AccessLog decides which requests get an access log line. Requests that
// failed are always logged (a server error at ERROR, a refused request at
// WARN); successful ones at Level, all of them up to PerSecond a second and
// one in Sample beyond that, with a line once a second saying how many were
// left out. A server under load so writes a few dozen lines a second instead
// of one per request.
type AccessLog struct {
	// Level is the level of successful requests' lines; Off drops them.
	Level slog.Level
	Off   bool
	// PerSecond successful requests a second are logged in full (default
	// 10); beyond that, one in Sample (default 100). All logs every request.
	PerSecond, Sample int
	All               bool

	mu      sync.Mutex
	window  int64 // the second being counted (Unix)
	inWin   int   // successful requests seen in it
	skipped int   // of them, not logged
	now     func() time.Time
}

// Defaults of AccessLog.
const (
	DefaultAccessLogPerSecond = 10
	DefaultAccessLogSample    = 100
)

// ParseAccessLogLevel reads --access-log: debug, info, warn or off.
func ParseAccessLogLevel(s string) (slog.Level, bool, error) {
	switch strings.ToLower(s) {
	case "off":
		return 0, true, nil
	case "debug", "info", "warn":
		var l slog.Level
		err := l.UnmarshalText([]byte(s))
		return l, false, err
	}
	return 0, false, fmt.Errorf("%q is not debug, info, warn or off", s)
}

// decide says whether a request with status is logged, at what level, and
// how many successful requests of the second that ended went unlogged (to be
// said once, by the first line of the next second).
func (a *AccessLog) decide(status int) (ok bool, level slog.Level, skipped int) {
	switch {
	case status >= 500:
		return true, slog.LevelError, a.rollOver()
	case status >= 400:
		return true, slog.LevelWarn, a.rollOver()
	case a.Off:
		return false, 0, 0
	case a.All:
		return true, a.Level, 0
	}
	per, sample := a.PerSecond, a.Sample
	if per <= 0 {
		per = DefaultAccessLogPerSecond
	}
	if sample <= 0 {
		sample = DefaultAccessLogSample
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	skipped = a.rollOverLocked()
	a.inWin++
	if a.inWin <= per || (a.inWin-per)%sample == 0 {
		return true, a.Level, skipped
	}
	a.skipped++
	return false, 0, skipped
}

func (a *AccessLog) rollOver() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rollOverLocked()
}

// rollOverLocked starts a new window when the second changed and returns the
// count of requests the ended one left out.
func (a *AccessLog) rollOverLocked() int {
	now := time.Now
	if a.now != nil {
		now = a.now
	}
	sec := now().Unix()
	if sec == a.window {
		return 0
	}
	skipped := a.skipped
	a.window, a.inWin, a.skipped = sec, 0, 0
	return skipped
}

// logRequest writes a request's access log line, if a (nil: every request
// at INFO) says so.
func (s *Server) logRequest(ctx context.Context, r *http.Request, id, route string, status int, bytes int64, elapsed time.Duration) {
	level, skipped := slog.LevelInfo, 0
	if a := s.AccessLog; a != nil {
		var ok bool
		if ok, level, skipped = a.decide(status); skipped > 0 {
			s.log.Log(ctx, a.Level, "http requests not logged", "count", skipped, "why", "successful requests beyond --access-log-rate in one second are sampled")
		}
		if !ok {
			return
		}
	}
	s.log.Log(ctx, level, "http", "request_id", id, "method", r.Method, "path", r.URL.Path, "route", route,
		"status", status, "bytes", bytes, "duration_ms", float64(elapsed.Microseconds())/1000, "remote", r.RemoteAddr)
}
