package app

import "junction/internal/server"

// AccessLogConfig is how much the access log writes (docs/operations.md#logs).
type AccessLogConfig struct {
	// Level is the level of successful requests' lines: debug, info, warn
	// or off (--access-log; default info). Failed requests are always logged.
	Level string
	// PerSecond successful requests a second are logged in full
	// (--access-log-rate, default 10); beyond that one in Sample
	// (--access-log-sample, default 100). All logs every request
	// (--access-log-all).
	PerSecond, Sample int
	All               bool
}

func (c *AccessLogConfig) validate() error {
	if c.Level == "" {
		c.Level = "info"
	}
	if _, _, err := server.ParseAccessLogLevel(c.Level); err != nil {
		return configErr("--access-log", "%v", err)
	}
	if err := orDefault("--access-log-rate", &c.PerSecond, server.DefaultAccessLogPerSecond); err != nil {
		return err
	}
	return orDefault("--access-log-sample", &c.Sample, server.DefaultAccessLogSample)
}

// accessLog is the server's sampler for c (validated).
func (c AccessLogConfig) accessLog() *server.AccessLog {
	level, off, _ := server.ParseAccessLogLevel(c.Level)
	return &server.AccessLog{Level: level, Off: off, PerSecond: c.PerSecond, Sample: c.Sample, All: c.All}
}
