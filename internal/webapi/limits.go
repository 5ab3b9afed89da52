package webapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"junction/internal/records"
)

// LimitConfig sets the service protection limits per caller over a sliding
// window. Zero fields take Dataverse's numbers.
type LimitConfig struct {
	Disabled      bool
	Window        time.Duration // 300 s
	MaxRequests   int           // 6000
	MaxExecution  time.Duration // 1,200,000 ms
	MaxConcurrent int           // 52
}

// ParseLimits reads "off" or "requests=6000,window=300s,execution=1200s,concurrent=52";
// a limit left out or given as 0 takes Dataverse's number.
func ParseLimits(s string) (LimitConfig, error) {
	var c LimitConfig
	s = strings.TrimSpace(s)
	if s == "" {
		return c, nil
	}
	if s == "off" {
		c.Disabled = true
		return c, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return c, fmt.Errorf("%q is not key=value", kv)
		}
		var err error
		negative := fmt.Errorf("%s is negative; give a positive value, or 0 for Dataverse's", v)
		number := func(n *int) {
			if *n, err = strconv.Atoi(v); err != nil {
				err = fmt.Errorf("%q is not a whole number", v)
			} else if *n < 0 {
				err = negative
			}
		}
		duration := func(d *time.Duration) {
			if *d, err = time.ParseDuration(v); err != nil {
				err = fmt.Errorf("%q is not a duration such as 300s", v)
			} else if *d < 0 {
				err = negative
			}
		}
		switch k {
		case "requests":
			number(&c.MaxRequests)
		case "concurrent":
			number(&c.MaxConcurrent)
		case "window":
			duration(&c.Window)
		case "execution":
			duration(&c.MaxExecution)
		default:
			err = fmt.Errorf("unknown limit %q (requests, concurrent, window, execution)", k)
		}
		if err != nil {
			return c, fmt.Errorf("%s: %w", k, err)
		}
	}
	return c, nil
}

func (c LimitConfig) withDefaults() LimitConfig {
	if c.Window <= 0 {
		c.Window = 300 * time.Second
	}
	if c.MaxRequests <= 0 {
		c.MaxRequests = 6000
	}
	if c.MaxExecution <= 0 {
		c.MaxExecution = 1200 * time.Second
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 52
	}
	return c
}

// Limiter enforces LimitConfig.
type Limiter struct {
	cfg LimitConfig
	now func() time.Time
	mu  sync.Mutex
	by  map[string]*usage
}

type usage struct {
	starts   []time.Time   // request start times inside the window, oldest first
	execs    []exec        // ended requests inside the window, oldest first
	total    time.Duration // the sum of execs' durations
	inFlight int
}

type exec struct {
	end time.Time
	d   time.Duration
}

// LimitError is a rejected request with its Retry-After in seconds.
type LimitError struct {
	Err        *records.Error
	RetryAfter int
}

// NewLimiter returns a limiter; now is the clock.
func NewLimiter(cfg LimitConfig, now func() time.Time) *Limiter {
	return &Limiter{cfg: cfg.withDefaults(), now: now, by: map[string]*usage{}}
}

// Enter admits one request of caller or says how long to wait. The returned
// function must be called when the request ends.
func (l *Limiter) Enter(caller string) (func(), *LimitError) {
	if l.cfg.Disabled {
		return func() {}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	u := l.by[caller]
	if u == nil {
		u = &usage{}
		l.by[caller] = u
	}
	cut := now.Add(-l.cfg.Window)
	for len(u.starts) > 0 && !u.starts[0].After(cut) {
		u.starts = u.starts[1:]
	}
	for len(u.execs) > 0 && !u.execs[0].end.After(cut) {
		u.total -= u.execs[0].d
		u.execs = u.execs[1:]
	}
	retry := func(at time.Time) int {
		return max(1, int(math.Ceil(at.Add(l.cfg.Window).Sub(now).Seconds())))
	}
	if len(u.starts) >= l.cfg.MaxRequests {
		return nil, &LimitError{RetryAfter: retry(u.starts[0]), Err: records.Errorf(http.StatusTooManyRequests, records.CodeTooManyReqs,
			"Number of requests exceeded the limit of %d over time window of %d seconds.", l.cfg.MaxRequests, int(l.cfg.Window.Seconds()))}
	}
	if u.total >= l.cfg.MaxExecution {
		return nil, &LimitError{RetryAfter: retry(u.execs[0].end), Err: records.Errorf(http.StatusTooManyRequests, records.CodeTooMuchTime,
			"Combined execution time of incoming requests exceeded limit of %d milliseconds over time window of %d seconds.", l.cfg.MaxExecution.Milliseconds(), int(l.cfg.Window.Seconds()))}
	}
	if u.inFlight >= l.cfg.MaxConcurrent {
		return nil, &LimitError{RetryAfter: 1, Err: records.Errorf(http.StatusTooManyRequests, records.CodeTooConcurrent,
			"Number of concurrent requests exceeded the limit of %d.", l.cfg.MaxConcurrent)}
	}
	u.starts = append(u.starts, now)
	u.inFlight++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			end := l.now()
			u.inFlight--
			d := end.Sub(now)
			u.execs = append(u.execs, exec{end: end, d: d})
			u.total += d
		})
	}, nil
}
