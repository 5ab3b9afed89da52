// Package app wires Junction together: it opens the data folder and the store,
// builds every surface from the configuration, assembles the route table, and
// runs the lifecycle (start, serve, drain, stop, close).
package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"junction/internal/outbound"
	"junction/internal/retention"
	"junction/internal/secrets"
	"junction/internal/webapi"
)

// Config is what `junction serve` is started with.
type Config struct {
	Listen string // host:port
	// AMQPListen is where the broker's AMQP 1.0 listener binds: host:port;
	// empty or "off" runs none. `junction serve` defaults it to
	// 127.0.0.1:5672 (127.0.0.1:5671 with TLS) with AMQPFallback.
	AMQPListen string
	// AMQPFallback serves AMQP on a free port of the same host when
	// AMQPListen is taken (for the default address, not one the user gave).
	AMQPFallback bool
	Data         string // data folder
	Store        string // empty: SQLite in Data; postgres://... selects PostgreSQL
	Project      string // project folder, or empty
	Demo         bool   // load the bundled demo project
	AdminKey     string // JUNCTION_ADMIN_KEY
	Version      string
	Logger       *slog.Logger
	// Out receives what is printed for the operator (the generated admin key).
	Out io.Writer
	// PostgresSchema puts every table in one schema; tests use it to isolate.
	PostgresSchema string
	// FunctionsNode is the node executable that runs Node.js function apps
	// (JUNCTION_FUNCTIONS_NODE); empty: node on PATH.
	FunctionsNode string
	// Env reads the process environment for the secrets resolver (nil:
	// os.LookupEnv). Tests use it to give each in-process Junction its own
	// values. Only JUNCTION_SECRET_* and SecretsAllow names are read from it.
	Env func(key string) (string, bool)

	// OutboundDenyPrivate also refuses private and loopback addresses to
	// outbound requests (link-local and metadata ones always are).
	OutboundDenyPrivate bool
	// OutboundDeny and OutboundAllow are comma-separated addresses or CIDR
	// ranges refused to, or exempted from the built-in refusals of, outbound
	// requests; deny wins.
	OutboundDeny, OutboundAllow string

	// TLSCert and TLSKey are PEM files; with them every listener speaks TLS.
	TLSCert, TLSKey string
	// InsecureListen allows plain HTTP on an address other than loopback.
	InsecureListen bool
	// MetricsKey, when set, is the bearer key /metrics requires.
	MetricsKey string

	// SFTPLockoutThreshold is the number of failed SFTP password logins from
	// one address or for one user after which it is locked out for
	// SFTPLockoutDuration (defaults 10 and 15 minutes).
	SFTPLockoutThreshold int
	SFTPLockoutDuration  time.Duration

	// JobLease is how long a node may go silent before another takes its job
	// runs over (--job-lease; 0: 30s). Runs renew it every third of it.
	JobLease time.Duration

	// StopTimeout bounds a graceful stop: draining requests and stopping
	// every component (--stop-timeout; 0: DefaultStopTimeout).
	StopTimeout time.Duration

	// EventsTimeScale multiplies the event router's retry ladder, delayed
	// deliveries and times to live (--events-time-scale; 0: 1).
	EventsTimeScale float64
	// EventsLease is how long a node holds claimed event deliveries
	// (--events-lease; 0: 2 minutes); EventsPoll bounds how long an idle
	// delivery worker sleeps (--events-poll; 0: 1 s).
	EventsLease, EventsPoll time.Duration
	// EventsPublicURL is the base URL of webhook validation links
	// (--events-public-url; empty: the host of the request that created the
	// subscription).
	EventsPublicURL string

	// WebAPILimits are the Web API's service protection limits per caller:
	// "off" or "requests=6000,window=300s,execution=1200s,concurrent=52"
	// (--webapi-limits; empty: Dataverse's).
	WebAPILimits string

	outbound     *outbound.Policy
	tls          *tls.Config
	webapiLimits webapi.LimitConfig

	// Limits bound request bodies and expression results (see limits.go).
	Limits Limits
	// SecretsFile is the admin's secrets file (KEY=VALUE lines or a JSON
	// object), read at start: --secrets-file, JUNCTION_SECRETS_FILE.
	SecretsFile string
	// SecretsAllow names further environment variables that definitions may
	// read: --secrets-allow, JUNCTION_SECRETS_ALLOW (comma-separated).
	SecretsAllow []string
	// Retention is how long each history is kept (--retain-*); what it
	// leaves unset comes from the project's junction.yaml, then the
	// defaults (see package retention).
	Retention retention.Settings
	// AccessLog is how much the access log writes.
	AccessLog AccessLogConfig

	// TraceRate is how many new traces a second are recorded: "off", "all"
	// or a number (--trace-rate; empty: DefaultTraceRate). A request that
	// arrives with a sampled traceparent is always recorded.
	TraceRate string
	// OTLPEndpoint, when set, is the OpenTelemetry collector recorded spans
	// are exported to over OTLP/HTTP, such as http://127.0.0.1:4318
	// (--otlp-endpoint).
	OTLPEndpoint string
	traceRate    float64
}

// ConfigError is a problem with the configuration, named by its field, that
// the command reports with exit code 2.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Err: fmt.Errorf(format, args...)}
}

// IsConfigError reports whether err came from bad configuration.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

func (c *Config) validate() error {
	if c.Listen == "" {
		return configErr("--listen", "an address is required, such as 127.0.0.1:8080")
	}
	if !strings.Contains(c.Listen, ":") {
		return configErr("--listen", "%q is not host:port", c.Listen)
	}
	if c.AMQPListen != "" && c.AMQPListen != "off" {
		if _, _, err := net.SplitHostPort(c.AMQPListen); err != nil {
			return configErr("--amqp-listen", "%q is not host:port or off", c.AMQPListen)
		}
	}
	if c.Data == "" {
		return configErr("--data", "a folder is required")
	}
	if c.Store != "" && !isPostgresURL(c.Store) {
		return configErr("--store", "%q is not a postgres:// URL; leave it empty for the embedded SQLite store", redact(c.Store))
	}
	if c.Demo && c.Project != "" {
		return configErr("--demo", "--demo and --project cannot be used together")
	}
	if err := c.validateNetwork(); err != nil {
		return err
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	if err := c.validateRetention(); err != nil {
		return err
	}
	if err := c.validateTuning(); err != nil {
		return err
	}
	if err := c.AccessLog.validate(); err != nil {
		return err
	}
	if err := c.validateTracing(); err != nil {
		return err
	}
	if c.AMQPListen != "" && c.AMQPListen != "off" && c.tls == nil && !c.InsecureListen && !loopbackListen(c.AMQPListen) {
		return configErr("--amqp-listen", "%s is not a loopback address and SAS tokens would cross the network in clear text; "+
			"give --tls-cert and --tls-key (AMQP then speaks TLS), or --insecure-listen behind a TLS proxy", c.AMQPListen)
	}
	for _, n := range c.SecretsAllow {
		if err := secrets.CheckAllow(n); err != nil {
			return configErr("--secrets-allow", "%v", err)
		}
	}
	if c.JobLease < 0 || (c.JobLease > 0 && c.JobLease < time.Second) {
		return configErr("--job-lease", "%s is too short: give at least 1s (a run renews its lease every third of it), or 0 for the default of 30s", c.JobLease)
	}
	if c.FunctionsNode != "" {
		if _, err := exec.LookPath(c.FunctionsNode); err != nil {
			return configErr("JUNCTION_FUNCTIONS_NODE", "%q cannot be run: %v (name the node executable of Node.js function apps, or leave it empty for node on PATH)", c.FunctionsNode, err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return nil
}

// DefaultStopTimeout is how long a graceful stop may take when StopTimeout
// is not set.
const DefaultStopTimeout = 30 * time.Second

// validateTuning checks the services' timing settings and parses the Web
// API's limits.
func (c *Config) validateTuning() error {
	for _, d := range []struct {
		flag string
		v    *time.Duration
	}{{"--stop-timeout", &c.StopTimeout}, {"--events-lease", &c.EventsLease}, {"--events-poll", &c.EventsPoll}} {
		if *d.v < 0 {
			return configErr(d.flag, "%s is negative; give a positive duration, or 0 for the default", *d.v)
		}
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.EventsTimeScale < 0 || math.IsNaN(c.EventsTimeScale) || math.IsInf(c.EventsTimeScale, 0) {
		return configErr("--events-time-scale", "%v is not a positive number (0 for the default of 1)", c.EventsTimeScale)
	}
	if c.EventsPublicURL != "" {
		u, err := url.Parse(c.EventsPublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return configErr("--events-public-url", "%q is not an http:// or https:// URL", c.EventsPublicURL)
		}
	}
	limits, err := webapi.ParseLimits(c.WebAPILimits)
	if err != nil {
		return configErr("--webapi-limits", "%v", err)
	}
	c.webapiLimits = limits
	return nil
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	at := strings.LastIndex(s, "@")
	scheme := strings.Index(s, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return s
	}
	creds := s[scheme+3 : at]
	if i := strings.Index(creds, ":"); i >= 0 {
		return s[:scheme+3] + creds[:i] + ":****" + s[at:]
	}
	return s
}

// demoSettings are the bundled demo's own non-secret settings that its
// project files read (the SFTP listen address).
var demoSettings = []string{"JUNCTION_DEMO_SFTP_LISTEN"}

// newSecrets builds the one resolver every surface reads ${VAR},
// @appsetting() and app settings through.
func newSecrets(c Config) (*secrets.Resolver, error) {
	o := secrets.Options{Env: c.Env, File: c.SecretsFile, Allow: c.SecretsAllow}
	if o.Env == nil {
		o.Env = os.LookupEnv
	}
	if c.Demo {
		o.Fixed = demoSettings
	}
	r, err := secrets.New(o)
	if err != nil {
		field := "--secrets-allow"
		if c.SecretsFile != "" {
			field = "--secrets-file"
		}
		return nil, &ConfigError{Field: field, Err: err}
	}
	return r, nil
}

// NewSecrets is the resolver of the offline commands (junction validate,
// junction test): the process environment under the same rule as serve.
func NewSecrets(file string, allow []string) (*secrets.Resolver, error) {
	return newSecrets(Config{SecretsFile: file, SecretsAllow: allow})
}
