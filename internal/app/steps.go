package app

import (
	"net"
	"net/url"
	"strings"

	"junction/internal/server"
	"junction/internal/steps"
	"junction/internal/store"
)

// stepsComponent runs the asynchronous steps' job worker with the other
// components; the steps keep no tables of their own (their jobs are
// asyncoperation rows) and serve nothing.
type stepsComponent struct{ *steps.Service }

func (stepsComponent) Name() string                  { return "steps" }
func (stepsComponent) Migrations() []store.Migration { return nil }
func (stepsComponent) Routes() []server.Route        { return nil }

// ownNamespace reports whether a service endpoint's namespace address
// (sb://host/, https://host/ or a bare host) is Junction's own broker: a
// loopback address, or the host Junction serves on.
func ownNamespace(d Deps) func(string) bool {
	return func(address string) bool {
		host := strings.TrimSpace(address)
		if u, err := url.Parse(host); err == nil && u.Host != "" {
			host = u.Hostname()
		} else if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(strings.ToLower(host), "/[]")
		if host == "localhost" {
			return true
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return true
		}
		if d.BaseURL != nil {
			if u, err := url.Parse(d.BaseURL()); err == nil && strings.EqualFold(u.Hostname(), host) {
				return true
			}
		}
		return false
	}
}
