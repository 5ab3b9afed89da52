package function

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"junction/internal/project"
)

// Folder is where a project keeps its function app.
const Folder = "functions"

// HostFile is the function app's host.json, the Azure Functions host settings.
type HostFile struct {
	Version         string                     `json:"version"`
	CustomHandler   *CustomHandlerConfig       `json:"customHandler,omitempty"`
	Extensions      map[string]json.RawMessage `json:"extensions,omitempty"`
	FunctionTimeout string                     `json:"functionTimeout,omitempty"`
	Concurrency     *ConcurrencyConfig         `json:"concurrency,omitempty"`
	Junction        *JunctionConfig            `json:"junction,omitempty"`
	// Settings Azure knows that Junction accepts and ignores.
	Logging             json.RawMessage `json:"logging,omitempty"`
	ExtensionBundle     json.RawMessage `json:"extensionBundle,omitempty"`
	ManagedDependency   json.RawMessage `json:"managedDependency,omitempty"`
	HealthMonitor       json.RawMessage `json:"healthMonitor,omitempty"`
	Aggregator          json.RawMessage `json:"aggregator,omitempty"`
	Retry               json.RawMessage `json:"retry,omitempty"`
	Singleton           json.RawMessage `json:"singleton,omitempty"`
	WatchDirectories    json.RawMessage `json:"watchDirectories,omitempty"`
	WatchFiles          json.RawMessage `json:"watchFiles,omitempty"`
	Functions           json.RawMessage `json:"functions,omitempty"`
	FunctionsHostConfig json.RawMessage `json:"languageWorkers,omitempty"`
	MCP                 json.RawMessage `json:"mcp,omitempty"`
	Telemetry           json.RawMessage `json:"telemetryMode,omitempty"`
	Tracing             json.RawMessage `json:"tracing,omitempty"`
}

// CustomHandlerConfig is host.json's customHandler section.
type CustomHandlerConfig struct {
	Description struct {
		DefaultExecutablePath string   `json:"defaultExecutablePath"`
		DefaultWorkerPath     string   `json:"defaultWorkerPath,omitempty"`
		WorkingDirectory      string   `json:"workingDirectory,omitempty"`
		Arguments             []string `json:"arguments,omitempty"`
	} `json:"description"`
	EnableForwardingHttpRequest bool `json:"enableForwardingHttpRequest,omitempty"`
}

// ConcurrencyConfig is host.json's concurrency section.
type ConcurrencyConfig struct {
	DynamicConcurrencyEnabled  bool `json:"dynamicConcurrencyEnabled,omitempty"`
	SnapshotPersistenceEnabled bool `json:"snapshotPersistenceEnabled,omitempty"`
	// MaximumFunctionConcurrency caps the invocations of one function that run at
	// once on a node (default 100).
	MaximumFunctionConcurrency int `json:"maximumFunctionConcurrency,omitempty"`
}

// JunctionConfig holds the settings Azure Functions does not have.
type JunctionConfig struct {
	// JavaScriptMaxMemoryMB is the sandbox's memory limit (default 64).
	JavaScriptMaxMemoryMB int `json:"javascriptMaxMemoryMB,omitempty"`
	// JavaScriptRuntime chooses how JavaScript functions run: "node" (a
	// Node.js worker) or "sandbox" (the embedded sandbox). Default: node
	// when the app is a Node.js app (FUNCTIONS_WORKER_RUNTIME node in
	// local.settings.json, or a package.json), else the sandbox.
	JavaScriptRuntime string `json:"javascriptRuntime,omitempty"`
}

// HTTPExtension is host.json's extensions.http section.
type HTTPExtension struct {
	RoutePrefix            *string `json:"routePrefix,omitempty"`
	MaxConcurrentRequests  int     `json:"maxConcurrentRequests,omitempty"`
	MaxOutstandingRequests int     `json:"maxOutstandingRequests,omitempty"`
	DynamicThrottles       bool    `json:"dynamicThrottlesEnabled,omitempty"`
	HSTS                   any     `json:"hsts,omitempty"`
	CustomHeaders          any     `json:"customHeaders,omitempty"`
}

// FunctionFile is one function's function.json.
type FunctionFile struct {
	Bindings            []Binding       `json:"bindings"`
	Disabled            bool            `json:"disabled,omitempty"`
	ScriptFile          string          `json:"scriptFile,omitempty"`
	EntryPoint          string          `json:"entryPoint,omitempty"`
	Excluded            bool            `json:"excluded,omitempty"`
	ConfigurationSource string          `json:"configurationSource,omitempty"`
	GeneratedBy         string          `json:"generatedBy,omitempty"`
	Retry               json.RawMessage `json:"retry,omitempty"`
}

// Binding is one entry of function.json's bindings: the union of the fields
// of the binding types Junction serves.
type Binding struct {
	Type      string `json:"type"`
	Direction string `json:"direction"`
	Name      string `json:"name"`
	DataType  string `json:"dataType,omitempty"`
	// httpTrigger
	Methods     []string `json:"methods,omitempty"`
	AuthLevel   string   `json:"authLevel,omitempty"`
	Route       string   `json:"route,omitempty"`
	WebHookType string   `json:"webHookType,omitempty"`
	// timerTrigger
	Schedule     string `json:"schedule,omitempty"`
	RunOnStartup bool   `json:"runOnStartup,omitempty"`
	UseMonitor   *bool  `json:"useMonitor,omitempty"`
	// serviceBusTrigger, serviceBus
	QueueName         string `json:"queueName,omitempty"`
	TopicName         string `json:"topicName,omitempty"`
	SubscriptionName  string `json:"subscriptionName,omitempty"`
	Connection        string `json:"connection,omitempty"`
	IsSessionsEnabled bool   `json:"isSessionsEnabled,omitempty"`
	AutoComplete      *bool  `json:"autoComplete,omitempty"`
	Cardinality       string `json:"cardinality,omitempty"`
	AccessRights      string `json:"accessRights,omitempty"`
	// eventGrid
	TopicEndpointURI string `json:"topicEndpointUri,omitempty"`
	TopicKeySetting  string `json:"topicKeySetting,omitempty"`
	// dataverse
	EntityName   string `json:"entityName,omitempty"`
	Mode         string `json:"mode,omitempty"` // create or upsert
	AlternateKey string `json:"alternateKey,omitempty"`
}

// Binding and trigger types.
const (
	HTTPTrigger       = "httpTrigger"
	TimerTrigger      = "timerTrigger"
	ServiceBusTrigger = "serviceBusTrigger"
	EventGridTrigger  = "eventGridTrigger"
	HTTPOutput        = "http"
	ServiceBusOutput  = "serviceBus"
	EventGridOutput   = "eventGrid"
	DataverseOutput   = "dataverse"
)

var triggerTypes = map[string]bool{HTTPTrigger: true, TimerTrigger: true, ServiceBusTrigger: true, EventGridTrigger: true}
var outputTypes = map[string]bool{HTTPOutput: true, ServiceBusOutput: true, EventGridOutput: true, DataverseOutput: true}

// Definition is one loaded function.
type Definition struct {
	Name     string
	Dir      string // project path of the function's folder
	File     FunctionFile
	Trigger  Binding
	Outputs  []Binding
	Code     string // inline JavaScript, empty for custom handlers and Node.js apps
	Model    string // Node.js apps: "v3" (function.json) or "v4" (registered in code)
	Route    *Route // HTTP triggers
	Methods  []string
	Schedule *Schedule // timer triggers
}

// App is a loaded function app.
type App struct {
	Host        HostFile
	HTTP        HTTPExtension
	ServiceBus  ServiceBusExtension
	RoutePrefix string
	Timeout     time.Duration
	Functions   []*Definition
	// Node is set when the app's JavaScript runs in a Node.js worker.
	Node bool
	// Settings are local.settings.json's Values: the app's own settings,
	// given to its code as environment variables (process.env).
	Settings map[string]string
	// Failed lists the functions that could not be loaded; the others run.
	Failed []FailedFunction
}

// FailedFunction is a function that could not be loaded, and why.
type FailedFunction struct {
	Name  string `json:"name"`
	Error string `json:"error"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}$`)

// Load reads and checks the function app in the project's functions folder.
// A project without one has no functions and no problems.
func Load(p *project.Project) (*App, []project.Problem) {
	cfg := &App{RoutePrefix: "api", Timeout: 5 * time.Minute}
	if !p.Exists(Folder) {
		return cfg, nil
	}
	var problems []project.Problem
	add := func(file, format string, args ...any) {
		problems = append(problems, project.Problem{File: file, Message: fmt.Sprintf(format, args...)})
	}
	hostPath := path.Join(Folder, "host.json")
	if !p.Exists(hostPath) {
		add(hostPath, "a function app needs a host.json")
		return cfg, problems
	}
	if pr := p.DecodeJSON(hostPath, &cfg.Host); pr != nil {
		return cfg, append(problems, pr...)
	}
	cfg.parseHost(hostPath, add)
	cfg.loadSettings(p, add)
	dirs := p.Glob(path.Join(Folder, "*", "function.json"))
	sort.Strings(dirs)
	seenRoutes := map[string]string{}
	for _, file := range dirs {
		dir := path.Dir(file)
		d := &Definition{Name: path.Base(dir), Dir: dir}
		var fnProblems []string
		fail := func(format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			fnProblems = append(fnProblems, msg)
			problems = append(problems, project.Problem{File: file, Message: msg, Warning: true})
		}
		report := func(pr *project.Problem) {
			pr.Warning = true
			fnProblems = append(fnProblems, pr.Message)
			problems = append(problems, *pr)
		}
		func() {
			if !nameRE.MatchString(d.Name) {
				fail("function name %q must start with a letter and hold only letters, digits, _ and -", d.Name)
				return
			}
			if prs := decodeFunctionFile(p, file, &d.File); len(prs) > 0 {
				for i := range prs {
					report(&prs[i])
				}
				if !strings.Contains(prs[len(prs)-1].Message, "binding type") {
					return // not JSON or an unknown field: nothing more to check
				}
			}
			if d.File.Excluded {
				return
			}
			if !cfg.checkFunction(d, file, func(_ string, format string, args ...any) { fail(format, args...) }) || len(fnProblems) > 0 {
				return
			}
			if cfg.Host.CustomHandler == nil {
				script := d.File.ScriptFile
				if script == "" {
					script = "index.js"
				}
				scriptPath := path.Clean(path.Join(dir, script))
				ext := path.Ext(script)
				if cfg.Node {
					if ext != ".js" && ext != ".mjs" && ext != ".cjs" {
						fail("scriptFile %q: the Node.js worker runs .js, .mjs and .cjs files (compile TypeScript first)", script)
						return
					}
					if !p.Exists(scriptPath) {
						fail("cannot find the function's code %q (is the TypeScript compiled? run npm run build)", script)
						return
					}
					d.Model = "v3"
				} else {
					src, err := p.ReadFile(scriptPath)
					if err != nil {
						fail("cannot read the function's code %q (without a customHandler in host.json, functions are inline JavaScript): %v", script, err)
						return
					}
					if ext != ".js" && ext != ".cjs" {
						fail("scriptFile %q: only JavaScript (.js) runs in the sandbox; use the Node.js worker (FUNCTIONS_WORKER_RUNTIME node) or a custom handler", script)
						return
					}
					d.Code = string(src)
				}
			}
			if d.Route != nil {
				key := d.Route.Shape()
				if other, ok := seenRoutes[key]; ok {
					fail("route %q is already served by function %q", d.Route.Template, other)
					return
				}
				seenRoutes[key] = d.Name
			}
			cfg.Functions = append(cfg.Functions, d)
		}()
		if len(fnProblems) > 0 {
			cfg.Failed = append(cfg.Failed, FailedFunction{Name: d.Name, Error: strings.Join(fnProblems, "; ")})
		}
	}
	return cfg, problems
}

func (cfg *App) parseHost(file string, add func(string, string, ...any)) {
	h := &cfg.Host
	if h.Version != "" && h.Version != "2.0" {
		add(file, "version %q: only \"2.0\" is supported", h.Version)
	}
	if raw, ok := h.Extensions["http"]; ok {
		if pr := project.DecodeJSON(file, raw, &cfg.HTTP); pr != nil {
			add(file, "extensions.http: %s", pr[0].Message)
		}
	}
	if raw, ok := h.Extensions["serviceBus"]; ok {
		if pr := project.DecodeJSON(file, raw, &cfg.ServiceBus); pr != nil {
			add(file, "extensions.serviceBus: %s", pr[0].Message)
		} else if msg := cfg.ServiceBus.check(); msg != "" {
			add(file, "extensions.serviceBus.%s", msg)
		}
	}
	if cfg.HTTP.RoutePrefix != nil {
		prefix := strings.Trim(*cfg.HTTP.RoutePrefix, "/")
		if prefix == "" || strings.ContainsAny(prefix, "{}") {
			add(file, "extensions.http.routePrefix %q: Junction needs a non-empty literal prefix", *cfg.HTTP.RoutePrefix)
		} else {
			cfg.RoutePrefix = prefix
		}
	}
	if h.FunctionTimeout != "" {
		d, err := parseTimeSpan(h.FunctionTimeout)
		if err != nil || d <= 0 {
			add(file, "functionTimeout %q is not a positive hh:mm:ss time span", h.FunctionTimeout)
		} else {
			cfg.Timeout = d
		}
	}
	if ch := h.CustomHandler; ch != nil && ch.Description.DefaultExecutablePath == "" {
		add(file, "customHandler.description.defaultExecutablePath is required")
	}
}

// checkFunction validates d's bindings and fills in its trigger and outputs.
func (cfg *App) checkFunction(d *Definition, file string, add func(string, string, ...any)) bool {
	ok := true
	bad := func(format string, args ...any) {
		add(file, format, args...)
		ok = false
	}
	names := map[string]bool{}
	triggers := 0
	for i, b := range d.File.Bindings {
		where := fmt.Sprintf("bindings[%d]", i)
		if b.Name == "" {
			bad("%s: a name is required", where)
			continue
		}
		if names[strings.ToLower(b.Name)] {
			bad("%s: binding name %q is used twice", where, b.Name)
		}
		names[strings.ToLower(b.Name)] = true
		switch {
		case triggerTypes[b.Type]:
			if b.Direction != "in" {
				bad("%s: a %s binding has direction \"in\"", where, b.Type)
			}
			triggers++
			d.Trigger = b
			cfg.checkTrigger(d, b, where, bad)
		case outputTypes[b.Type]:
			if b.Direction != "out" {
				bad("%s: a %s binding has direction \"out\"", where, b.Type)
			}
			checkOutput(b, where, bad)
			d.Outputs = append(d.Outputs, b)
		default:
			bad("%s: %s", where, unsupportedBinding(b.Type))
		}
	}
	if triggers != 1 {
		bad("a function needs exactly one trigger binding, found %d", triggers)
	}
	return ok
}

var httpMethods = map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true, "head": true, "options": true, "trace": true}

func (cfg *App) checkTrigger(d *Definition, b Binding, where string, bad func(string, ...any)) {
	switch b.Type {
	case HTTPTrigger:
		switch strings.ToLower(b.AuthLevel) {
		case "", "anonymous", "function", "admin":
		default:
			bad("%s: authLevel %q must be anonymous, function or admin", where, b.AuthLevel)
		}
		for _, m := range b.Methods {
			if !httpMethods[strings.ToLower(m)] {
				bad("%s: method %q is not an HTTP method", where, m)
			}
			d.Methods = append(d.Methods, strings.ToUpper(m))
		}
		tmpl := b.Route
		if tmpl == "" {
			tmpl = d.Name
		}
		r, err := ParseRoute(tmpl)
		if err != nil {
			bad("%s: route: %v", where, err)
			return
		}
		d.Route = r
	case TimerTrigger:
		s, err := ParseSchedule(b.Schedule)
		if err != nil {
			bad("%s: schedule: %v", where, err)
			return
		}
		d.Schedule = s
	case ServiceBusTrigger:
		if (b.QueueName == "") == (b.TopicName == "") {
			bad("%s: a serviceBusTrigger names either queueName or topicName and subscriptionName", where)
		}
		if b.TopicName != "" && b.SubscriptionName == "" {
			bad("%s: topicName %q needs a subscriptionName", where, b.TopicName)
		}
	case EventGridTrigger:
	}
}

func checkOutput(b Binding, where string, bad func(string, ...any)) {
	switch b.Type {
	case ServiceBusOutput:
		if (b.QueueName == "") == (b.TopicName == "") {
			bad("%s: a serviceBus output names either queueName or topicName", where)
		}
	case EventGridOutput:
		if b.TopicEndpointURI == "" {
			bad("%s: an eventGrid output needs topicEndpointUri (the app setting holding the topic URL)", where)
		}
	case DataverseOutput:
		if b.EntityName == "" {
			bad("%s: a dataverse output needs entityName (the table's entity set name)", where)
		}
		switch b.Mode {
		case "", "create", "upsert":
		default:
			bad("%s: mode %q must be create or upsert", where, b.Mode)
		}
	}
}

// parseTimeSpan reads a .NET TimeSpan "hh:mm:ss" or "d.hh:mm:ss".
func parseTimeSpan(s string) (time.Duration, error) {
	days := 0
	if i := strings.Index(s, "."); i >= 0 && i < strings.Index(s, ":") {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, err
		}
		days, s = n, s[i+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("want hh:mm:ss")
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("want hh:mm:ss")
		}
		n[i] = v
	}
	if n[1] > 59 || n[2] > 59 {
		return 0, fmt.Errorf("want hh:mm:ss")
	}
	return time.Duration(days)*24*time.Hour + time.Duration(n[0])*time.Hour + time.Duration(n[1])*time.Minute + time.Duration(n[2])*time.Second, nil
}
