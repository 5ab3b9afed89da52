package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"junction/internal/app"
	"junction/internal/broker/amqp"
)

func serve(ctx context.Context, args []string, io IO) int {
	fs := newFlags("serve", io)
	cfg := app.Config{Version: Version, Out: io.Stdout}
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to serve HTTP on")
	fs.StringVar(&cfg.AMQPListen, "amqp-listen", "", "address to serve AMQP 1.0 (the Service Bus SDKs) on, or off (default 127.0.0.1:5672, 127.0.0.1:5671 with --tls-cert; a free port when that is taken)")
	fs.StringVar(&cfg.Data, "data", "./junction-data", "data folder (the SQLite store, files, the lock)")
	fs.StringVar(&cfg.Store, "store", "", "store URL: empty for SQLite in the data folder, or postgres://...")
	fs.StringVar(&cfg.Project, "project", "", "project folder of definitions to load")
	fs.BoolVar(&cfg.Demo, "demo", false, "load the bundled demo project")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS (with --tls-key)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.BoolVar(&cfg.InsecureListen, "insecure-listen", false, "allow plain HTTP on a non-loopback --listen address (behind a TLS proxy)")
	fs.StringVar(&cfg.MetricsKey, "metrics-key", "", "bearer key /metrics requires (default: open on loopback, admin or operator key otherwise)")
	fs.BoolVar(&cfg.OutboundDenyPrivate, "outbound-deny-private", false, "refuse outbound requests to private and loopback addresses too")
	fs.StringVar(&cfg.OutboundDeny, "outbound-deny", "", "comma-separated addresses or CIDR ranges outbound requests may not reach")
	fs.StringVar(&cfg.OutboundAllow, "outbound-allow", "", "comma-separated addresses or CIDR ranges exempted from the built-in outbound refusals")
	fs.IntVar(&cfg.SFTPLockoutThreshold, "sftp-lockout-threshold", 10, "failed SFTP password logins from one address or for one user before a lockout")
	fs.DurationVar(&cfg.SFTPLockoutDuration, "sftp-lockout-duration", 15*time.Minute, "how long an SFTP lockout lasts")
	fs.DurationVar(&cfg.JobLease, "job-lease", 30*time.Second, "how long a node may go silent before another takes its job runs over")
	fs.DurationVar(&cfg.StopTimeout, "stop-timeout", app.DefaultStopTimeout, "how long a graceful stop may take (draining requests, stopping every component)")
	fs.Float64Var(&cfg.EventsTimeScale, "events-time-scale", 1, "multiplies the event retry ladder, delayed deliveries and times to live")
	fs.DurationVar(&cfg.EventsLease, "events-lease", 2*time.Minute, "how long a node holds claimed event deliveries before another may take them")
	fs.DurationVar(&cfg.EventsPoll, "events-poll", time.Second, "longest sleep of an idle event delivery worker (commits wake it at once)")
	fs.StringVar(&cfg.EventsPublicURL, "events-public-url", "", "base URL of webhook validation links (default: the host of the request that created the subscription)")
	fs.StringVar(&cfg.WebAPILimits, "webapi-limits", "", "Web API service protection limits per caller: off, or requests=6000,window=300s,execution=1200s,concurrent=52 (default Dataverse's)")
	limitFlags(fs, &cfg.Limits)
	retentionFlags(fs, &cfg.Retention)
	accessLogFlags(fs, &cfg.AccessLog)
	fs.StringVar(&cfg.TraceRate, "trace-rate", "100", "new traces a second recorded (off, all, or a number); a request with a sampled traceparent is always recorded")
	fs.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", "", "OpenTelemetry collector to export recorded spans to over OTLP/HTTP, such as http://127.0.0.1:4318")
	fs.StringVar(&cfg.SecretsFile, "secrets-file", "", "the admin's secrets file (KEY=VALUE lines or a JSON object) that ${VAR}, @appsetting() and app settings read")
	secretsAllow := fs.String("secrets-allow", "", "comma-separated environment variables, besides JUNCTION_SECRET_*, that definitions may read")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if code, ok := parse(fs, args, io.Env); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(io.Stderr, "junction serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if cfg.AMQPListen == "" {
		// The Service Bus emulator's port, or AMQPS's; when it is taken (a
		// local RabbitMQ), a free one.
		cfg.AMQPListen, cfg.AMQPFallback = amqp.DefaultListen, true
		if cfg.TLSCert != "" {
			cfg.AMQPListen = amqp.DefaultListenTLS
		}
	}
	cfg.SecretsAllow = splitList(*secretsAllow)
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(io.Stderr, "junction serve: --log-level: %q is not debug, info, warn or error\n", *logLevel)
		return exitUsage
	}
	opts := &slog.HandlerOptions{Level: level}
	switch *logFormat {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(io.Stderr, opts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(io.Stderr, opts))
	default:
		fmt.Fprintf(io.Stderr, "junction serve: --log-format: %q is not text or json\n", *logFormat)
		return exitUsage
	}
	cfg.AdminKey = io.Env("JUNCTION_ADMIN_KEY")
	cfg.FunctionsNode = io.Env("JUNCTION_FUNCTIONS_NODE")

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg)
	if err != nil {
		return fail(io, err)
	}
	addr, err := a.Start(ctx)
	if err != nil {
		return fail(io, err)
	}
	banner(io.Stdout, addr, cfg.Demo, cfg.AdminKey != "", cfg.TLSCert != "")
	if amqpAddr := a.AMQPAddr(); amqpAddr != "" {
		if cs, err := a.ServiceBusConnectionString(ctx); err == nil {
			fmt.Fprintf(io.Stdout, "  SDKs     Service Bus over AMQP on %s: %s\n", amqpAddr, cs)
		}
	}
	<-ctx.Done()
	stop()
	fmt.Fprintln(io.Stdout, "Junction shutting down")
	stopCtx, cancel := a.StopContext()
	defer cancel()
	if err := a.Stop(stopCtx); err != nil {
		fmt.Fprintf(io.Stderr, "junction: stop: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func fail(io IO, err error) int {
	fmt.Fprintf(io.Stderr, "junction: %v\n", err)
	if app.IsConfigError(err) {
		return exitUsage
	}
	return exitFailure
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
