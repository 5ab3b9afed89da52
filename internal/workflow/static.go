package workflow

import (
	"fmt"
	"strings"

	"junction/internal/connector"
	"junction/internal/expr"
)

// cannedResult is the result an action takes without running: an offline
// test's mock (by action name, ignoring case), or the static result its
// runtimeConfiguration.staticResult enables from the definition's
// staticResults section (Microsoft Learn, "Test workflows with mock data in
// Azure Logic Apps": the action returns the static result instead of
// calling its target).
func (rs *runState) cannedResult(name string, a *Action) (*Mock, bool) {
	control := isContainer(a.Type) || strings.EqualFold(a.Type, "Switch")
	if rs.mocks != nil && !control {
		if m, ok := rs.mocks[name]; ok {
			return m, true
		}
		if k, ok := foldName(rs.mocks, name); ok {
			return rs.mocks[k], true
		}
	}
	sr, ok := staticResultOf(rs.l.Def, a)
	if !ok {
		return nil, false
	}
	return sr, true
}

// staticResultOf is the enabled static result of an action, if any.
func staticResultOf(d *Definition, a *Action) (*Mock, bool) {
	if a.RuntimeConfiguration == nil {
		return nil, false
	}
	cfg, ok := a.RuntimeConfiguration.StaticResult.(map[string]any)
	if !ok {
		return nil, false
	}
	if opt, _ := cfg["staticResultOptions"].(string); !strings.EqualFold(opt, "Enabled") {
		return nil, false
	}
	ref, _ := cfg["name"].(string)
	k, ok := foldName(d.StaticResults, ref)
	if !ok {
		return nil, false
	}
	v, _ := expr.Normalize(d.StaticResults[k]).(map[string]any)
	m := &Mock{source: "staticResult", Outputs: v["outputs"], Error: v["error"]}
	m.Status, _ = v["status"].(string)
	if m.Status == "" {
		m.Status = StatusSucceeded
	}
	// Static results write status codes as strings ("200").
	if out, ok := m.Outputs.(map[string]any); ok {
		if sc, ok := out["statusCode"].(string); ok {
			if n, ok := wholeNumber(sc); ok {
				cp := make(map[string]any, len(out))
				for k, x := range out {
					cp[k] = x
				}
				cp["statusCode"] = n
				m.Outputs = cp
			}
		}
	}
	return m, true
}

// checkStaticResult reports a staticResult naming no entry of staticResults.
func (v *validator) checkStaticResult(a *Action, path string) {
	if a.RuntimeConfiguration == nil || a.RuntimeConfiguration.StaticResult == nil {
		return
	}
	cfg, ok := a.RuntimeConfiguration.StaticResult.(map[string]any)
	if !ok {
		v.add(path+".runtimeConfiguration.staticResult", "staticResult must be an object with name and staticResultOptions")
		return
	}
	ref, _ := cfg["name"].(string)
	if _, ok := foldName(v.def.StaticResults, ref); !ok {
		v.add(path+".runtimeConfiguration.staticResult.name", "%s", fmt.Sprintf("the static result %q is not defined in the definition's staticResults", ref))
	}
}

// connectorActionTypes call a connector by connection; the Microsoft-hosted
// ones (Office 365, SharePoint, Teams, ...) cannot run outside Azure.
var connectorActionTypes = map[string]bool{"apiconnection": true, "openapiconnection": true, "apiconnectionwebhook": true, "openapiconnectionwebhook": true}

// hostedConnector is the connector an ApiConnection/OpenApiConnection action
// (or webhook) needs when no connector of this node serves it (or not its
// operation): a Microsoft-hosted SaaS connector, named as the definition
// names it. It is "" when this node runs the action.
func (e *Engine) hostedConnector(a *Action, conns map[string]connectorRef) string {
	lt := strings.ToLower(a.Type)
	if !connectorActionTypes[lt] {
		return ""
	}
	in, _ := a.Inputs.(map[string]any)
	host, _ := in["host"].(map[string]any)
	cn := connectionNameOf(host)
	apiID, _ := host["apiId"].(string)
	// shown: the connector as the definition names it (office365); name:
	// the connector of this node that would serve it.
	shown := apiID
	if shown == "" {
		shown = cn
	}
	if i := strings.LastIndex(shown, "/"); i >= 0 {
		shown = shown[i+1:]
	}
	shown = strings.TrimPrefix(strings.ToLower(shown), "shared_")
	name := connectorName(shown)
	ref, known := conns[cn]
	if known && ref.connector != "" {
		name = ref.connector
	}
	if known && ref.runtimeURL != "" && lt == "apiconnection" {
		return "" // called at its runtime URL
	}
	if strings.HasSuffix(lt, "webhook") || e.opt.Connectors == nil {
		return shown
	}
	c, ok := e.opt.Connectors.Get(name)
	if !ok {
		return shown
	}
	// The connector is served; so must the operation be.
	op, _ := host["operationId"].(string)
	if lt == "apiconnection" {
		method, _ := in["method"].(string)
		path, _ := in["path"].(string)
		if expr.IsTemplate(path) {
			return ""
		}
		op = strings.ToUpper(method) + " " + path
	}
	if op == "" || expr.IsTemplate(op) {
		return ""
	}
	if _, ok := c.Op(op); !ok {
		return shown
	}
	return ""
}

type connectorRef struct {
	connector  string
	runtimeURL string
}

// The connection values that keep a managed connection's runtime URL and
// authentication (connections.json connectionRuntimeUrl, authentication).
const (
	runtimeURLKey  = "$connectionRuntimeUrl"
	runtimeAuthKey = "$authentication"
)

// hostedWarnings names every action that needs a Microsoft-hosted connector
// and has no static result: it deploys, and fails when it runs.
func (e *Engine) hostedWarnings(d *Definition, p Project) Problems {
	conns := connectorRefs(p.Connections)
	var out Problems
	var walk func(set map[string]*Action, path string)
	walk = func(set map[string]*Action, path string) {
		for _, name := range sortedKeys(set) {
			a := set[name]
			if a == nil {
				continue
			}
			p := path + "." + name
			if c := e.hostedConnector(a, conns); c != "" {
				if _, ok := staticResultOf(d, a); !ok {
					out = append(out, Problem{Path: p, Message: fmt.Sprintf("the action %q (%s) uses the Microsoft-hosted connector %q, which cannot run here: it fails when it runs unless it has a static result (runtimeConfiguration.staticResult) or a test mocks it", name, a.Type, c)})
				}
			}
			for _, ch := range a.Children() {
				walk(ch.Actions, p+"."+ch.Path)
			}
		}
	}
	walk(d.Actions, "definition.actions")
	for _, name := range sortedKeys(d.Triggers) {
		t := d.Triggers[name]
		if t == nil {
			continue
		}
		switch strings.ToLower(t.Type) {
		case "apiconnection", "apiconnectionwebhook", "apiconnectionnotification":
			out = append(out, Problem{Path: "definition.triggers." + name, Message: fmt.Sprintf("the trigger %q (%s) needs a Microsoft-hosted connector: it never fires here; fire it with POST .../triggers/%s/run", name, t.Type, name)})
		}
	}
	return out
}

func connectorRefs(conns map[string]connector.Connection) map[string]connectorRef {
	out := make(map[string]connectorRef, len(conns))
	for k, c := range conns {
		u, _ := c.Values[runtimeURLKey].(string)
		out[k] = connectorRef{connector: c.Connector, runtimeURL: u}
	}
	return out
}

// triggerNamed resolves a trigger name as Logic Apps does (ignoring case) to
// the name the definition spells and the trigger; nil when there is none.
func (l *Loaded) triggerNamed(name string) (string, *Trigger) {
	if t, ok := l.Def.Triggers[name]; ok {
		return name, t
	}
	if k, ok := foldName(l.Def.Triggers, name); ok {
		return k, l.Def.Triggers[k]
	}
	return name, nil
}
