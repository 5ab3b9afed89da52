package workflow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// RetryPolicy is an action's retryPolicy.
type RetryPolicy struct {
	Type     string // exponential, fixed, none
	Count    int
	Interval time.Duration
	Min, Max time.Duration
}

// defaultRetry is Logic Apps' default: exponential, 4 retries, 7.5 s scale
// bounded to 5 s .. 1 h.
var defaultRetry = RetryPolicy{Type: "exponential", Count: 4, Interval: 7500 * time.Millisecond, Min: 5 * time.Second, Max: time.Hour}

func parseRetryPolicy(v any) (RetryPolicy, error) {
	if v == nil {
		return defaultRetry, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return RetryPolicy{}, fmt.Errorf("retryPolicy must be an object")
	}
	t, _ := m["type"].(string)
	p := RetryPolicy{Type: strings.ToLower(t)}
	switch p.Type {
	case "none":
		return p, nil
	case "exponential":
		p.Count, p.Interval, p.Min, p.Max = 4, 7500*time.Millisecond, 5*time.Second, time.Hour
	case "fixed":
		p.Count, p.Interval = 4, 20*time.Second
	default:
		return RetryPolicy{}, fmt.Errorf("retryPolicy.type must be exponential, fixed or none, not %q", t)
	}
	if c, ok := m["count"]; ok {
		n, ok := c.(int64)
		if !ok || n < 1 || n > 90 {
			return RetryPolicy{}, fmt.Errorf("retryPolicy.count must be an integer from 1 to 90")
		}
		p.Count = int(n)
	}
	for field, dst := range map[string]*time.Duration{"interval": &p.Interval, "minimumInterval": &p.Min, "maximumInterval": &p.Max} {
		if s, ok := m[field].(string); ok {
			d, err := ParseDuration(s)
			if err != nil {
				return RetryPolicy{}, fmt.Errorf("retryPolicy.%s: %v", field, err)
			}
			*dst = d
		}
	}
	return p, nil
}

// delay is the wait before retry number n (1-based); retryAfter, when the
// server sent one, wins.
func (p RetryPolicy) delay(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	if p.Type == "fixed" {
		return p.Interval
	}
	// Logic Apps: a random interval in [interval*0.8, interval*1.2] * 2^(n-1), bounded.
	base := float64(p.Interval) * math.Pow(2, float64(n-1))
	d := time.Duration(base * (0.8 + 0.4*rand.Float64()))
	if p.Min > 0 && d < p.Min {
		d = p.Min
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	return d
}

// retryable reports whether a status code may succeed when tried again.
func retryable(status int) bool {
	return status == 408 || status == 429 || status >= 500
}
