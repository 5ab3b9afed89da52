package workflow

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"junction/internal/expr"
	"junction/internal/secrets"
	"junction/internal/store"
	"junction/internal/trace"
)

// frame is where an action runs: the loop iterations around it.
type frame struct {
	parent *frame
	loop   string // the Foreach or Until this frame is an iteration of
	index  int
	item   any
	each   bool // loop is a Foreach (has an item)
	// args are the arguments of the Agent tool call this frame runs
	// (agentParameters()).
	args map[string]any
}

func (f *frame) iteration(loop string) (*frame, bool) {
	for x := f; x != nil; x = x.parent {
		if x.loop == loop || strings.EqualFold(x.loop, loop) || strings.EqualFold(x.loop, strings.ReplaceAll(loop, " ", "_")) {
			return x, true
		}
	}
	return nil, false
}

// path is the record key of action name seen from frame f.
func (rs *runState) path(name string, f *frame) (string, error) {
	var b strings.Builder
	for _, anc := range rs.parents[name] {
		b.WriteString(anc)
		if a := rs.findDefCached(anc); a != nil && isLoop(a.Type) {
			it, ok := f.iteration(anc)
			if !ok {
				return "", fmt.Errorf("the action '%s' is inside the loop '%s' and can only be referenced from within it", name, anc)
			}
			b.WriteString("#" + strconv.Itoa(it.index))
		}
		b.WriteString("/")
	}
	b.WriteString(name)
	return b.String(), nil
}

// isLoop: the actions of a Foreach, an Until or an Agent's tools run once per
// iteration (an Agent's iteration is one tool call), each recorded apart.
func isLoop(t string) bool {
	return strings.EqualFold(t, "Foreach") || strings.EqualFold(t, "Until") || strings.EqualFold(t, "Agent")
}

func (rs *runState) findDefCached(name string) *Action {
	_, a := rs.actionNamed(name)
	return a
}

// actionNamed resolves an action reference as Logic Apps does (exactly, a
// space for an underscore, or ignoring case) to the name the definition
// spells and its definition; a nil action when there is none.
func (rs *runState) actionNamed(name string) (string, *Action) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.defs == nil {
		rs.defs = map[string]*Action{}
		walkActions(rs.l.Def.Actions, func(n string, a *Action) { rs.defs[n] = a })
	}
	if a, ok := rs.defs[name]; ok {
		return name, a
	}
	if k, ok := foldName(rs.defs, name); ok {
		return k, rs.defs[k]
	}
	return name, nil
}

type setResult struct {
	name   string
	status string
	err    error
}

// runSet runs one set of actions (the workflow's, a scope's, a branch's or an
// iteration's) following runAfter, and returns the set's status.
func (rs *runState) runSet(ctx context.Context, set map[string]*Action, f *frame) (string, error) {
	names := sortedKeys(set)
	statuses := map[string]string{}
	started := map[string]bool{}
	results := make(chan setResult)
	running := 0
	var fatal error
	for {
		progress := false
		if fatal == nil && ctx.Err() == nil && len(started) < len(names) && rs.joinsHeld() {
			// An action's record waits to commit with its effect: commit
			// them before more work starts (the run's end commits them
			// when nothing is left to start).
			if err := rs.flushHeld(); err != nil {
				fatal = err
			}
			for _, name := range rs.takeJoinFailures() {
				if _, ok := statuses[name]; ok {
					statuses[name] = StatusFailed
				}
			}
		}
		if fatal == nil && ctx.Err() == nil {
			for _, name := range names {
				a := set[name]
				if started[name] || a == nil {
					continue
				}
				ready := true
				for pred := range a.RunAfter {
					if _, done := statuses[pred]; !done {
						if _, exists := set[pred]; exists {
							ready = false
						}
					}
				}
				if !ready {
					continue
				}
				started[name] = true
				progress = true
				if !runAfterMet(a, statuses) {
					st, err := rs.skip(name, f)
					if err != nil {
						fatal = err
						break
					}
					statuses[name] = st
					continue
				}
				if rs.answerHeld() {
					// A caller waits for a Response's record: commit it
					// before more work starts.
					if err := rs.flushHeld(); err != nil {
						fatal = err
						break
					}
				}
				running++
				rs.inflight.Add(1)
				leaf := !isContainer(a.Type) && !strings.EqualFold(a.Type, "Switch") && !strings.EqualFold(a.Type, "Agent")
				if leaf {
					rs.working.Add(1)
				}
				go func(name string, a *Action) {
					st, err := rs.runAction(ctx, name, a, f)
					if leaf {
						rs.working.Add(-1)
					}
					rs.inflight.Add(-1)
					results <- setResult{name, st, err}
				}(name, a)
			}
		}
		if running == 0 {
			if progress && fatal == nil && ctx.Err() == nil {
				continue
			}
			break
		}
		res := <-results
		running--
		if res.err != nil && fatal == nil {
			fatal = res.err
		}
		if res.err == nil {
			statuses[res.name] = res.status
		}
	}
	if fatal != nil {
		return "", fatal
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return setStatus(set, statuses), nil
}

// runAfterMet: every predecessor's status must be one of those listed for it.
func runAfterMet(a *Action, statuses map[string]string) bool {
	for pred, want := range a.RunAfter {
		st, ok := statuses[pred]
		if !ok {
			continue
		}
		if len(want) == 0 {
			want = []string{StatusSucceeded}
		}
		match := false
		for _, w := range want {
			if strings.EqualFold(w, st) {
				match = true
			}
		}
		if !match {
			return false
		}
	}
	return true
}

// setStatus fails a set when one of its actions failed and no action that
// runs after that failure ran (an unhandled failure).
func setStatus(set map[string]*Action, statuses map[string]string) string {
	for name, st := range statuses {
		if st != StatusFailed && st != StatusTimedOut {
			continue
		}
		handled := false
		for other, a := range set {
			if a == nil {
				continue
			}
			want, ok := a.RunAfter[name]
			if !ok || statuses[other] == StatusSkipped || statuses[other] == "" {
				continue
			}
			for _, w := range want {
				if strings.EqualFold(w, st) {
					handled = true
				}
			}
		}
		if !handled {
			return StatusFailed
		}
	}
	return StatusSucceeded
}

func (rs *runState) skip(name string, f *frame) (string, error) {
	path, err := rs.path(name, f)
	if err != nil {
		return "", err
	}
	if rec, ok := rs.record(path); ok {
		return rec.Status, nil
	}
	now := rs.e.opt.Now().UTC()
	rec := &ActionRecord{Path: path, Name: name, Status: StatusSkipped, Code: "ActionSkipped", StartTime: now, EndTime: now,
		Error: map[string]any{"code": "ActionConditionFailed", "message": fmt.Sprintf("The execution of template action '%s' is skipped: the 'runAfter' condition is not satisfied.", name)}}
	if err := rs.save(rec, nil); err != nil {
		return "", err
	}
	return StatusSkipped, nil
}

// actionError is a failed action's error, with the code Logic Apps uses.
type actionError struct {
	Code    string
	Message string
	Status  string // Failed (default) or TimedOut
}

func (e *actionError) Error() string { return e.Message }

func failf(code, format string, args ...any) error {
	return &actionError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// call is one action being executed.
type call struct {
	rs     *runState
	name   string
	a      *Action
	f      *frame
	rec    *ActionRecord
	saved  bool // the implementation saved the record itself (variables)
	status string
	// answer runs once the record is committed (a Response action's answer).
	answer func()
	// effect is the write a connector operation joined to the record's
	// transaction (see joined).
	effect func(context.Context, store.Tx) (any, error)
}

func (c *call) scope() expr.Scope { return c.rs.scope(c.f) }

// resolve evaluates every template inside v.
func (c *call) resolve(v any) (any, error) {
	out, err := c.rs.e.cache.Resolve(v, c.scope())
	if err != nil {
		return nil, templateError(err)
	}
	return out, nil
}

func templateError(err error) error {
	var ae *actionError
	if errors.As(err, &ae) {
		return err
	}
	return &actionError{Code: "InvalidTemplate", Message: "Unable to process template language expressions: " + err.Error()}
}

func (c *call) inputs() map[string]any {
	m, _ := c.a.Inputs.(map[string]any)
	return m
}

// runAction runs one action unless a completed record of it exists.
func (rs *runState) runAction(ctx context.Context, name string, a *Action, f *frame) (string, error) {
	path, err := rs.path(name, f)
	if err != nil {
		return "", err
	}
	if rec, ok := rs.record(path); ok {
		return rec.Status, nil
	}
	rec := &ActionRecord{Path: path, Name: name, StartTime: rs.e.opt.Now().UTC()}
	c := &call{rs: rs, name: name, a: a, f: f, rec: rec}
	parent := rs.run.Trace
	if trace.From(ctx).Valid() {
		parent = "" // inside a scope or loop: a child of its span
	}
	actx, span := rs.e.opt.Tracer.BeginFrom(ctx, parent, "Workflows", "action "+path)
	span.Set("junction.action_type", a.Type).Set("junction.run_id", rs.run.ID)
	defer func() { endActionSpan(span, rec) }()
	var cancel context.CancelFunc = func() {}
	if a.Limit != nil && a.Limit.Timeout != "" {
		to := a.Limit.Timeout
		if expr.IsTemplate(to) {
			if v, err := c.resolve(to); err == nil {
				to = expr.ToString(v)
			}
		}
		if d, err := ParseDuration(to); err == nil {
			actx, cancel = context.WithTimeout(actx, time.Duration(float64(d)/rs.e.opt.TimeScale))
		}
	}
	var runErr error
	if m, ok := rs.cannedResult(name, a); ok {
		rec.Outputs, rec.Error = m.Outputs, m.Error
		c.status = m.Status
		if c.status == "" {
			c.status = StatusSucceeded
		}
		if c.status != StatusSucceeded && rec.Error == nil {
			rec.Error = map[string]any{"code": "MockedFailure", "message": "the test mocked this action as " + c.status}
			if m.source == "staticResult" {
				rec.Error = map[string]any{"code": "StaticResult", "message": "the action's static result is " + c.status}
			}
		}
	} else if rs.mocks != nil && externalTypes[strings.ToLower(a.Type)] {
		runErr = failf("ActionNotMocked", "The action '%s' (%s) reaches outside the workflow; an offline test must mock it", name, a.Type)
	} else if slowTypes[strings.ToLower(a.Type)] {
		// The run history shows what ran before an action that may take long.
		if runErr = rs.flushHeld(); runErr == nil {
			runErr = rs.dispatch(actx, c)
		}
	} else {
		runErr = rs.dispatch(actx, c)
	}
	cancel()
	if ctx.Err() != nil {
		return "", ctx.Err() // the run was terminated, cancelled or is stopping
	}
	if c.saved {
		return rec.Status, nil
	}
	if errors.Is(runErr, errLeaseLost) {
		return "", runErr
	}
	rec.EndTime = rs.e.opt.Now().UTC()
	switch {
	case runErr != nil && actx.Err() == context.DeadlineExceeded:
		rec.Status, rec.Code = StatusTimedOut, "ActionTimedOut"
		rec.Error = map[string]any{"code": "ActionTimedOut", "message": fmt.Sprintf("The action '%s' did not finish within its timeout %s.", name, a.Limit.Timeout)}
	case runErr != nil:
		var ae *actionError
		if !errors.As(runErr, &ae) {
			ae = &actionError{Code: "ActionFailed", Message: runErr.Error()}
		}
		rec.Status = StatusFailed
		if ae.Status != "" {
			rec.Status = ae.Status
		}
		if rec.Code == "" {
			rec.Code = ae.Code
		}
		rec.Error = map[string]any{"code": ae.Code, "message": ae.Message}
	case c.status != "":
		rec.Status = c.status
		if rec.Code == "" {
			rec.Code = c.status
		}
	default:
		rec.Status, rec.Code = StatusSucceeded, "OK"
	}
	if len(a.TrackedProperties) > 0 {
		sc := rs.scope(f)
		sc.current = rec
		if tp, err := rs.e.cache.Resolve(map[string]any(a.TrackedProperties), sc); err == nil {
			rec.TrackedProperties = tp
		}
	}
	if c.effect != nil && rec.Status == StatusSucceeded {
		st, err := rs.saveJoined(rec, c.effect)
		if err != nil {
			return "", err
		}
		return st, nil
	}
	if c.answer != nil && rec.Status == StatusSucceeded {
		err = rs.hold(rec, nil, c.answer)
		if err == nil && rs.working.Load() > 1 {
			// Other actions are running: the run's next write may be far
			// off, so the caller's answer is committed now.
			err = rs.flushHeld()
		}
	} else {
		err = rs.save(rec, nil)
	}
	if err != nil {
		return "", err
	}
	return rec.Status, nil
}

// slowTypes are actions that may wait long on something outside the run;
// the records held back (see runState.save) are written before they start.
var slowTypes = map[string]bool{"http": true, "workflow": true, "function": true, "agent": true,
	"apiconnectionwebhook": true, "openapiconnectionwebhook": true}

// endActionSpan ends an action's span with its record's outcome; an action
// the run did not finish (stopped, lost) leaves no span.
func endActionSpan(span *trace.Active, rec *ActionRecord) {
	switch rec.Status {
	case "":
		span.Discard()
	case StatusSucceeded, StatusSkipped:
		span.Set("junction.status", rec.Status).End(nil)
	default:
		msg := rec.Status
		if m, ok := rec.Error.(map[string]any); ok {
			if s, ok := m["message"].(string); ok && s != "" {
				msg = s
			}
		}
		span.Set("junction.status", rec.Status).Fail(msg)
	}
}

func (rs *runState) dispatch(ctx context.Context, c *call) error {
	switch strings.ToLower(c.a.Type) {
	case "compose":
		return actCompose(ctx, c)
	case "parsejson":
		return actParseJSON(ctx, c)
	case "query":
		return actQuery(ctx, c)
	case "select":
		return actSelect(ctx, c)
	case "join":
		return actJoin(ctx, c)
	case "table":
		return actTable(ctx, c)
	case "initializevariable", "setvariable", "incrementvariable", "decrementvariable", "appendtoarrayvariable", "appendtostringvariable":
		return actVariable(ctx, c)
	case "if":
		return actIf(ctx, c)
	case "switch":
		return actSwitch(ctx, c)
	case "foreach":
		return actForeach(ctx, c)
	case "until":
		return actUntil(ctx, c)
	case "scope":
		return actScope(ctx, c)
	case "terminate":
		return actTerminate(ctx, c)
	case "wait":
		return actWait(ctx, c)
	case "http":
		return actHTTP(ctx, c)
	case "response":
		return actResponse(ctx, c)
	case "workflow":
		return actWorkflow(ctx, c)
	case "javascriptcode":
		return actJavaScript(ctx, c)
	case "serviceprovider", "openapiconnection", "apiconnection", "apiconnectionwebhook", "openapiconnectionwebhook":
		if hc := rs.e.hostedConnector(c.a, connectorRefs(rs.l.Connections)); hc != "" {
			return failf("ConnectorNotAvailable", "The action '%s' uses the Microsoft-hosted connector '%s', which cannot run here; give the action a static result (runtimeConfiguration.staticResult) or mock it in a test", c.name, hc)
		}
		return actConnector(ctx, c)
	case "expression":
		return actExpression(ctx, c)
	case "function":
		return actFunction(ctx, c)
	case "liquid":
		return actLiquid(ctx, c)
	case "agent":
		return actAgent(ctx, c)
	case "chunktext":
		return actChunkText(ctx, c)
	case "parsedocument":
		return actParseDocument(ctx, c)
	case "xslt":
		return actXslt(ctx, c)
	}
	return failf("UnknownActionType", "the action type '%s' is not supported", c.a.Type)
}

// evalScope answers workflow functions for expressions.
type evalScope struct {
	rs      *runState
	f       *frame
	item    any
	hasItem bool
	current *ActionRecord
}

func (rs *runState) scope(f *frame) *evalScope { return &evalScope{rs: rs, f: f} }

func (s *evalScope) Now() time.Time { return s.rs.e.opt.Now() }

func (s *evalScope) withItem(v any) *evalScope {
	c := *s
	c.item, c.hasItem = v, true
	return &c
}

// ExprLimits are the engine's expression limits.
func (s *evalScope) ExprLimits() expr.Limits { return s.rs.e.opt.ExprLimits }

func (s *evalScope) Workflow(name string, args []any) (any, error) {
	rs := s.rs
	str := func() string { v, _ := args[0].(string); return v }
	switch name {
	case "trigger":
		return rs.run.Trigger, nil
	case "triggerOutputs":
		return rs.run.Trigger["outputs"], nil
	case "triggerBody":
		outs, _ := rs.run.Trigger["outputs"].(map[string]any)
		return outs["body"], nil
	case "triggerFormDataValue", "triggerFormDataMultiValues":
		return formValue(rs.run.Trigger, str(), name == "triggerFormDataMultiValues")
	case "triggerMultipartBody":
		outs, _ := rs.run.Trigger["outputs"].(map[string]any)
		parts, ok, err := multipartParts(outs["body"])
		if !ok {
			return nil, fmt.Errorf("triggerMultipartBody: the trigger body is not multipart")
		}
		if err != nil {
			return nil, err
		}
		i, _ := args[0].(int64)
		if i < 0 || i >= int64(len(parts)) {
			return nil, fmt.Errorf("triggerMultipartBody(%d): the trigger body has %d parts", i, len(parts))
		}
		return parts[i].value(), nil
	case "body", "actionBody", "outputs", "actionOutputs", "actions":
		n, a := rs.actionNamed(str())
		if a == nil {
			return nil, fmt.Errorf("the action '%s' does not exist in the workflow", str())
		}
		path, err := rs.path(n, s.f)
		if err != nil {
			return nil, err
		}
		rec, ok := rs.record(path)
		if !ok {
			return nil, fmt.Errorf("the action '%s' has not run yet; reference only actions that this action runs after", str())
		}
		switch name {
		case "actions":
			return recordObject(rec), nil
		case "outputs", "actionOutputs":
			return rec.Outputs, nil
		}
		return bodyOf(a, rec), nil
	case "action":
		if s.current == nil {
			return nil, fmt.Errorf("action() is only available in trackedProperties")
		}
		return recordObject(s.current), nil
	case "item":
		if s.hasItem {
			return s.item, nil
		}
		for x := s.f; x != nil; x = x.parent {
			if x.each {
				return x.item, nil
			}
		}
		return nil, fmt.Errorf("item() is only available inside a Foreach loop or a Query or Select action")
	case "items":
		it, ok := s.f.iteration(str())
		if !ok || !it.each {
			return nil, fmt.Errorf("items('%s') is only available inside the Foreach loop '%s'", str(), str())
		}
		return it.item, nil
	case "iterationIndexes":
		it, ok := s.f.iteration(str())
		if !ok {
			return nil, fmt.Errorf("iterationIndexes('%s') is only available inside the loop '%s'", str(), str())
		}
		return int64(it.index), nil
	case "variables":
		rs.varMu.Lock()
		defer rs.varMu.Unlock()
		if v, ok := rs.vars[strings.ToLower(str())]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("the variable '%s' is not initialized", str())
	case "parameters":
		if v, ok := rs.l.Parameters[str()]; ok {
			return v, nil
		}
		if strings.HasPrefix(str(), "$") {
			return map[string]any{}, nil
		}
		return nil, fmt.Errorf("the workflow parameter '%s' is not found", str())
	case "appsetting":
		if v, ok := rs.e.opt.AppSetting(str()); ok {
			return v, nil
		}
		return nil, fmt.Errorf("the app setting '%s' is not set (%s)", str(), secrets.Rule)
	case "result":
		return rs.result(args, s.f)
	case "workflow":
		return map[string]any{"id": rs.l.Name, "name": rs.l.Name, "type": "workflows",
			"run": map[string]any{"id": rs.run.ID, "name": rs.run.ID, "type": "workflows/runs"}}, nil
	case "agentParameters":
		return s.agentParameter(str())
	case "listCallbackUrl":
		for t := range rs.l.Def.Triggers {
			cb, err := rs.e.CallbackURL(rs.l.Name, t)
			if err != nil {
				return nil, err
			}
			return cb.Value, nil
		}
		return nil, fmt.Errorf("the workflow has no trigger")
	}
	return nil, fmt.Errorf("the workflow function '%s' is not supported", name)
}

// bodyOf is body('X'): the outputs' body, or for Compose the outputs.
func bodyOf(a *Action, rec *ActionRecord) any {
	if strings.EqualFold(a.Type, "Compose") {
		return rec.Outputs
	}
	if m, ok := rec.Outputs.(map[string]any); ok {
		return m["body"]
	}
	return nil
}

func recordObject(rec *ActionRecord) map[string]any {
	o := map[string]any{"name": rec.Name, "status": rec.Status, "code": rec.Code,
		"startTime": fmtTime(rec.StartTime), "endTime": fmtTime(rec.EndTime), "inputs": rec.Inputs, "outputs": rec.Outputs}
	if rec.Error != nil {
		o["error"] = rec.Error
	}
	if rec.TrackedProperties != nil {
		o["trackedProperties"] = rec.TrackedProperties
	}
	if rec.RetryHistory != nil {
		o["retryHistory"] = rec.RetryHistory
	}
	return o
}

// result('Scope') lists the records of the actions directly inside a scope
// (all iterations, for loops), in start order.
func (rs *runState) result(args []any, f *frame) (any, error) {
	name := ""
	if len(args) > 0 {
		name, _ = args[0].(string)
	}
	var prefix string
	if name != "" {
		var a *Action
		if name, a = rs.actionNamed(name); a == nil {
			return nil, fmt.Errorf("result('%s'): the action does not exist", name)
		}
		p, err := rs.path(name, f)
		if err != nil {
			return nil, err
		}
		prefix = p
	}
	rs.mu.Lock()
	var recs []*ActionRecord
	for path, rec := range rs.records {
		chain := rs.parents[rec.Name]
		if name == "" {
			if len(chain) == 0 {
				recs = append(recs, rec)
			}
			continue
		}
		if len(chain) == 0 || chain[len(chain)-1] != name {
			continue
		}
		rest := strings.TrimPrefix(path, prefix)
		if rest != path && (strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "#")) {
			recs = append(recs, rec)
		}
	}
	rs.mu.Unlock()
	sort.Slice(recs, func(i, j int) bool {
		if !recs[i].StartTime.Equal(recs[j].StartTime) {
			return recs[i].StartTime.Before(recs[j].StartTime)
		}
		return recs[i].Path < recs[j].Path
	})
	out := make([]any, len(recs))
	for i, r := range recs {
		out[i] = recordObject(r)
	}
	return out, nil
}
