package server

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Activity counts requests and errors per surface in one-minute buckets over
// the last hour, for the console's overview. It lives in memory: each node
// reports its own traffic.
type Activity struct {
	mu      sync.Mutex
	surface func(route string) string
	now     func() time.Time
	buckets map[string]*[60]minute
	order   []string // surfaces always reported, in this order
}

type minute struct {
	at       int64 // Unix minute the bucket holds
	requests int64
	clientEr int64 // 4xx
	serverEr int64 // 5xx
}

// NewActivity returns a recorder; surface names the surface of a route label.
// The surfaces named in always are reported, in that order, even without
// traffic; others follow by name once they have some.
func NewActivity(surface func(route string) string, always ...string) *Activity {
	a := &Activity{surface: surface, now: time.Now, buckets: map[string]*[60]minute{}, order: always}
	for _, name := range always {
		a.buckets[name] = &[60]minute{}
	}
	return a
}

func (a *Activity) record(route string, status int) {
	if a == nil {
		return
	}
	name := a.surface(route)
	if name == "" {
		return
	}
	m := a.now().Unix() / 60
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.buckets[name]
	if b == nil {
		b = &[60]minute{}
		a.buckets[name] = b
	}
	slot := &b[m%60]
	if slot.at != m {
		*slot = minute{at: m}
	}
	slot.requests++
	switch {
	case status >= 500:
		slot.serverEr++
	case status >= 400:
		slot.clientEr++
	}
}

// SurfaceActivity is one surface's traffic over the last hour.
type SurfaceActivity struct {
	Surface      string  `json:"surface"`
	Requests     int64   `json:"requests"`
	ClientErrors int64   `json:"clientErrors"`
	ServerErrors int64   `json:"serverErrors"`
	ErrorRate    float64 `json:"errorRate"` // server errors / requests
	PerMinute    []int64 `json:"perMinute"` // requests, oldest first, 60 values
	ErrorsPerMin []int64 `json:"errorsPerMinute"`
}

// LastHour reports every surface's traffic over the last hour.
func (a *Activity) LastHour() []SurfaceActivity {
	now := a.now().Unix() / 60
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []SurfaceActivity{}
	for name, b := range a.buckets {
		s := SurfaceActivity{Surface: name, PerMinute: make([]int64, 60), ErrorsPerMin: make([]int64, 60)}
		for i := range 60 {
			m := now - 59 + int64(i)
			slot := b[m%60]
			if slot.at != m {
				continue
			}
			s.PerMinute[i] = slot.requests
			s.ErrorsPerMin[i] = slot.serverEr
			s.Requests += slot.requests
			s.ClientErrors += slot.clientEr
			s.ServerErrors += slot.serverEr
		}
		if s.Requests > 0 {
			s.ErrorRate = float64(s.ServerErrors) / float64(s.Requests)
		}
		out = append(out, s)
	}
	rank := func(name string) int {
		if i := slices.Index(a.order, name); i >= 0 {
			return i
		}
		return len(a.order)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := rank(out[i].Surface), rank(out[j].Surface)
		if ri != rj {
			return ri < rj
		}
		return out[i].Surface < out[j].Surface
	})
	return out
}
