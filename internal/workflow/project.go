package workflow

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"junction/internal/connector"
	"junction/internal/connector/openapi"
	"junction/internal/expr"
	"junction/internal/outbound"
	"junction/internal/project"
	"junction/internal/secrets"
)

// The Logic Apps Standard project files.
const (
	hostFile          = "host.json"
	connectionsFile   = "connections.json"
	parametersFile    = "parameters.json"
	localSettingsFile = "local.settings.json"
	workflowFile      = "workflow.json"
)

// ProjectFiles is a Logic Apps Standard project read from a project folder.
type ProjectFiles struct {
	Workflows   map[string]*File // by folder name
	Files       map[string]string
	Settings    map[string]string // local.settings.json Values (the environment wins)
	Project     Project
	Connections map[string]connector.Connection
	// Custom are the project's custom connectors, by name.
	Custom map[string]CustomConnector
}

// CustomConnector is an OpenAPI document of the project that becomes a
// connector: OpenApiConnection actions call its operations by operationId,
// on the connection of connections.json whose api.id ends in its name.
type CustomConnector struct {
	File string
	Doc  []byte
}

// customConnectorFiles are where a project keeps custom connectors: the
// folder the Power Platform connector CLI (paconn) downloads,
// connectors/<name>/apiDefinition.swagger.json, or one document,
// connectors/<name>.openapi.json (or .yaml, .yml).
var customConnectorFiles = []string{"connectors/*/apiDefinition.swagger.json", "connectors/*.openapi.json", "connectors/*.openapi.yaml", "connectors/*.openapi.yml"}

// customConnectorName is the connector a custom connector file defines: its
// folder's or its file's name, lower-case, as connection api ids name it.
func customConnectorName(file string) string {
	if path.Base(file) == "apiDefinition.swagger.json" {
		return strings.ToLower(path.Base(path.Dir(file)))
	}
	return strings.ToLower(strings.TrimSuffix(path.Base(file), ".openapi"+path.Ext(file)))
}

// Connectors builds the project's custom connectors, their calls dialling
// through p (nil: the default outbound policy).
func (pf *ProjectFiles) Connectors(p *outbound.Policy) ([]*connector.Connector, error) {
	var out []*connector.Connector
	for _, name := range sortedKeys(pf.Custom) {
		c, err := openapi.Load(name, pf.Custom[name].Doc, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pf.Custom[name].File, err)
		}
		out = append(out, c)
	}
	return out, nil
}

var (
	appSettingRef = regexp.MustCompile(`^@appsetting\('([^']+)'\)$`)
	parameterRef  = regexp.MustCompile(`^@parameters\('([^']+)'\)$`)
)

// settings looks app settings up in the environment, then local.settings.json.
func (pf *ProjectFiles) setting(env func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := env(name); ok {
			return v, true
		}
		v, ok := pf.Settings[name]
		return v, ok
	}
}

// ReadProject reads workflows, connections, parameters and settings from the
// project, reporting every problem with its file.
func ReadProject(p *project.Project, env func(string) (string, bool)) (*ProjectFiles, []project.Problem) {
	if env == nil {
		env = noSettings
	}
	pf := &ProjectFiles{Workflows: map[string]*File{}, Files: map[string]string{}, Settings: map[string]string{},
		Connections: map[string]connector.Connection{}, Project: Project{Parameters: map[string]any{}}, Custom: map[string]CustomConnector{}}
	var problems []project.Problem
	bad := func(file, format string, args ...any) {
		problems = append(problems, project.Problem{File: file, Message: fmt.Sprintf(format, args...)})
	}
	if p.Exists(localSettingsFile) {
		var ls struct {
			Values map[string]string `json:"Values"`
		}
		data, _ := p.ReadFile(localSettingsFile)
		if err := json.Unmarshal(data, &ls); err != nil {
			problems = append(problems, project.JSONProblem(localSettingsFile, data, &ls, err))
		}
		pf.Settings = ls.Values
	}
	lookup := pf.setting(env)
	resolve := func(file, where string, v any) any {
		s, ok := v.(string)
		if !ok {
			return v
		}
		if m := appSettingRef.FindStringSubmatch(s); m != nil {
			val, ok := lookup(m[1])
			if !ok {
				bad(file, "%s: the app setting %q is not set: give it in local.settings.json Values or the secrets file (%s)", where, m[1], secrets.Rule)
			}
			return val
		}
		return s
	}
	if p.Exists(parametersFile) {
		var params map[string]struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		}
		data, _ := p.ReadFile(parametersFile)
		if err := json.Unmarshal(data, &params); err != nil {
			problems = append(problems, project.JSONProblem(parametersFile, data, &params, err))
		}
		for name, pv := range params {
			pf.Project.Parameters[name] = resolveDeep(expr.Normalize(pv.Value), func(where string, s any) any { return resolve(parametersFile, name+where, s) }, "")
		}
	}
	// connections.json may take a value from parameters.json, written
	// "@parameters('name')" (Microsoft Learn, "Create cross-environment
	// parameters for workflow inputs in Azure Logic Apps", Standard: a
	// connection's authentication as a parameter), and from app settings.
	resolveConn := func(where string, v any) any {
		if s, ok := v.(string); ok {
			if m := parameterRef.FindStringSubmatch(s); m != nil {
				pv, ok := pf.Project.Parameters[m[1]]
				if !ok {
					bad(connectionsFile, "%s: the parameter %q is not defined in parameters.json", where, m[1])
					return nil
				}
				return copyValue(pv)
			}
		}
		return resolve(connectionsFile, where, v)
	}
	if p.Exists(connectionsFile) {
		var cf struct {
			ServiceProviderConnections map[string]struct {
				ParameterValues any `json:"parameterValues"`
				ServiceProvider struct {
					ID string `json:"id"`
				} `json:"serviceProvider"`
				DisplayName string `json:"displayName"`
			} `json:"serviceProviderConnections"`
			ManagedAPIConnections map[string]struct {
				API struct {
					ID string `json:"id"`
				} `json:"api"`
				ParameterValues      any    `json:"parameterValues"`
				ConnectionRuntimeURL string `json:"connectionRuntimeUrl"`
				Authentication       any    `json:"authentication"`
			} `json:"managedApiConnections"`
			AgentConnections map[string]struct {
				Endpoint       string         `json:"endpoint"`
				Authentication map[string]any `json:"authentication"`
			} `json:"agentConnections"`
		}
		data, _ := p.ReadFile(connectionsFile)
		if err := json.Unmarshal(data, &cf); err != nil {
			problems = append(problems, project.JSONProblem(connectionsFile, data, &cf, err))
		}
		for name, c := range cf.ServiceProviderConnections {
			vals := resolveDeep(expr.Normalize(c.ParameterValues), func(where string, s any) any {
				return resolveConn("serviceProviderConnections."+name+".parameterValues"+where, s)
			}, "")
			m, _ := vals.(map[string]any)
			pf.Connections[name] = connector.Connection{Name: name, Connector: connectorName(c.ServiceProvider.ID), Values: m}
		}
		for name, c := range cf.ManagedAPIConnections {
			vals := resolveDeep(expr.Normalize(c.ParameterValues), func(where string, s any) any {
				return resolveConn("managedApiConnections."+name+".parameterValues"+where, s)
			}, "")
			m, _ := vals.(map[string]any)
			if c.ConnectionRuntimeURL != "" {
				// Logic Apps Standard calls a managed connection at its
				// runtime URL; keep it (and its authentication) for
				// ApiConnection actions.
				if m == nil {
					m = map[string]any{}
				}
				m[runtimeURLKey] = resolve(connectionsFile, "managedApiConnections."+name+".connectionRuntimeUrl", c.ConnectionRuntimeURL)
				m[runtimeAuthKey] = resolveDeep(expr.Normalize(c.Authentication), func(where string, s any) any {
					return resolveConn("managedApiConnections."+name+".authentication"+where, s)
				}, "")
			}
			pf.Connections[name] = connector.Connection{Name: name, Connector: connectorName(c.API.ID), Values: m}
		}
		for name, c := range cf.AgentConnections {
			if pf.Project.Agents == nil {
				pf.Project.Agents = map[string]AgentConnection{}
			}
			key, _ := c.Authentication["key"].(string)
			pf.Project.Agents[name] = AgentConnection{
				Endpoint: expr.ToString(resolve(connectionsFile, "agentConnections."+name+".endpoint", c.Endpoint)),
				Key:      expr.ToString(resolve(connectionsFile, "agentConnections."+name+".authentication.key", key)),
			}
		}
	}
	pf.Project.Connections = pf.Connections
	for _, file := range p.Glob(mapsFolder + "/*") {
		data, err := p.ReadFile(file)
		if err != nil {
			continue // a folder
		}
		if pf.Project.Maps == nil {
			pf.Project.Maps = map[string]string{}
		}
		pf.Project.Maps[path.Base(file)] = string(data)
	}
	for _, pattern := range customConnectorFiles {
		for _, file := range p.Glob(pattern) {
			name := customConnectorName(file)
			data, err := p.ReadFile(file)
			if err != nil {
				continue // a folder
			}
			if prev, ok := pf.Custom[name]; ok {
				bad(file, "the custom connector %q is also defined by %s", name, prev.File)
				continue
			}
			if _, err := openapi.Load(name, data, nil); err != nil {
				bad(file, "%v", err)
				continue
			}
			pf.Custom[name] = CustomConnector{File: file, Doc: data}
		}
	}
	for _, file := range p.Glob("*/" + workflowFile) {
		name := path.Dir(file)
		data, err := p.ReadFile(file)
		if err != nil {
			bad(file, "%v", err)
			continue
		}
		f, err := ParseFile(data)
		if err != nil {
			problems = append(problems, project.JSONProblem(file, data, nil, err))
			continue
		}
		pf.Workflows[name] = f
		pf.Files[name] = file
	}
	return pf, problems
}

// copyValue copies a JSON value, so that a parameter taken into a
// connection is not shared with the parameters.
func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = copyValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}

func resolveDeep(v any, fn func(where string, s any) any, where string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = resolveDeep(e, fn, where+"."+k)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = resolveDeep(e, fn, fmt.Sprintf("%s[%d]", where, i))
		}
		return x
	case string:
		return fn(where, x)
	}
	return v
}

// ValidateProject checks every workflow of a Logic Apps Standard project
// against its connections, parameters and app settings.
func ValidateProject(p *project.Project, env func(string) (string, bool), triggerTypes map[string]bool) []project.Problem {
	pf, problems := ReadProject(p, env)
	if len(pf.Workflows) == 0 {
		return problems
	}
	names := map[string]bool{}
	for n, f := range pf.Workflows {
		names[strings.ToLower(n)] = true
		if f.FlowName != "" {
			names[strings.ToLower(f.FlowName)] = true // a Power Automate child flow reference
		}
	}
	conns := map[string]bool{}
	for n := range pf.Connections {
		conns[n] = true
	}
	for _, name := range sortedKeys(pf.Workflows) {
		f := pf.Workflows[name]
		if !validName.MatchString(name) {
			problems = append(problems, project.Problem{File: pf.Files[name], Message: fmt.Sprintf("the folder name %q is not a valid workflow name", name)})
		}
		switch k := strings.ToLower(f.Kind); k {
		case "stateful", "stateless", "agentic":
			// Agentic: an autonomous agent workflow, which runs as a
			// stateful one (Microsoft Learn, create-autonomous-agent-workflows).
		case "agent":
			problems = append(problems, project.Problem{File: pf.Files[name], Message: "kind Agent (a conversational agent workflow, chatting with a person through the run) is not supported; autonomous agent workflows (kind Agentic) are"})
		default:
			problems = append(problems, project.Problem{File: pf.Files[name], Message: fmt.Sprintf("kind must be Stateful, Stateless or Agentic, not %q", f.Kind)})
		}
		maps := pf.Project.Maps
		if maps == nil {
			maps = map[string]string{}
		}
		env := Environment{AppSetting: pf.setting(env), Parameters: pf.Project.Parameters, Connections: conns, TriggerTypes: triggerTypes, Workflows: names, Maps: maps}
		for _, pr := range Validate(f.Definition, env) {
			problems = append(problems, project.Problem{File: pf.Files[name], Message: pr.String()})
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].File < problems[j].File })
	return problems
}
