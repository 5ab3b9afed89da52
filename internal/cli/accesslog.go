package cli

import (
	"flag"

	"junction/internal/app"
	"junction/internal/server"
)

// accessLogFlags registers the flags of app.AccessLogConfig.
func accessLogFlags(fs *flag.FlagSet, c *app.AccessLogConfig) {
	fs.StringVar(&c.Level, "access-log", "info", "level of successful requests' access log lines: debug, info, warn or off (failed requests are always logged)")
	fs.IntVar(&c.PerSecond, "access-log-rate", server.DefaultAccessLogPerSecond, "successful requests a second logged in full; beyond it, one in --access-log-sample")
	fs.IntVar(&c.Sample, "access-log-sample", server.DefaultAccessLogSample, "beyond --access-log-rate, one successful request in this many is logged")
	fs.BoolVar(&c.All, "access-log-all", false, "log every request, without sampling")
}
