package workflow

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"junction/internal/expr"
)

// condition evaluates an If or Until expression.
func (c *call) condition(f *frame) (bool, error) {
	sc := c.rs.scope(f)
	switch x := c.a.Expression.(type) {
	case bool:
		return x, nil
	case string:
		t, err := c.rs.e.cache.Compile(x)
		if err != nil {
			return false, templateError(err)
		}
		v, err := t.Evaluate(sc)
		if err != nil {
			return false, templateError(err)
		}
		b, err := expr.Truthy(v)
		if err != nil {
			return false, failf("InvalidTemplate", "The expression of action '%s' must evaluate to a boolean, not %s", c.name, kindName(v))
		}
		return b, nil
	case map[string]any:
		ok, err := evalCondition(x, func(v any) (any, error) { return c.rs.e.cache.Resolve(v, sc) }, sc)
		if err != nil {
			return false, templateError(err)
		}
		return ok, nil
	}
	return false, failf("InvalidTemplate", "The expression of action '%s' is not valid", c.name)
}

// container finishes a container action from its body's status.
func (c *call) container(status string) error {
	if status == StatusFailed {
		return failf("ActionFailed", "An action failed. No dependent actions succeeded.")
	}
	return nil
}

func actScope(ctx context.Context, c *call) error {
	st, err := c.rs.runSet(ctx, c.a.Actions, c.f)
	if err != nil {
		return err
	}
	return c.container(st)
}

func actIf(ctx context.Context, c *call) error {
	ok, err := c.condition(c.f)
	if err != nil {
		return err
	}
	c.rec.Inputs = map[string]any{"expressionResult": ok}
	c.rec.Outputs = map[string]any{"expression": ok}
	set, other := c.a.Actions, map[string]*Action(nil)
	if c.a.Else != nil {
		other = c.a.Else.Actions
	}
	if !ok {
		set, other = other, set
	}
	if err := c.skipAll(other); err != nil {
		return err
	}
	st, err := c.rs.runSet(ctx, set, c.f)
	if err != nil {
		return err
	}
	return c.container(st)
}

func actSwitch(ctx context.Context, c *call) error {
	v, err := c.resolve(c.a.Expression)
	if err != nil {
		return err
	}
	c.rec.Inputs = map[string]any{"expression": v}
	var set map[string]*Action
	chosen := "default"
	for _, name := range sortedKeys(c.a.Cases) {
		cs := c.a.Cases[name]
		if cs != nil && (expr.Equal(cs.Case, v) || (isString(v) != isString(cs.Case) && expr.ToString(cs.Case) == expr.ToString(v))) {
			set, chosen = cs.Actions, name
			break
		}
	}
	if chosen == "default" && c.a.Default != nil {
		set = c.a.Default.Actions
	}
	for name, cs := range c.a.Cases {
		if cs != nil && name != chosen {
			if err := c.skipAll(cs.Actions); err != nil {
				return err
			}
		}
	}
	if chosen != "default" && c.a.Default != nil {
		if err := c.skipAll(c.a.Default.Actions); err != nil {
			return err
		}
	}
	c.rec.Outputs = map[string]any{"case": chosen}
	st, err := c.rs.runSet(ctx, set, c.f)
	if err != nil {
		return err
	}
	return c.container(st)
}

func isString(v any) bool { _, ok := v.(string); return ok }

// skipAll records the actions of a branch that was not taken as Skipped, as
// Logic Apps shows them.
func (c *call) skipAll(set map[string]*Action) error {
	for _, name := range sortedKeys(set) {
		if _, err := c.rs.skip(name, c.f); err != nil {
			return err
		}
	}
	return nil
}

// Foreach limits.
const (
	defaultRepetitions = 20
	maxForeachItems    = 100_000
)

func actForeach(ctx context.Context, c *call) error {
	v, err := c.resolve(c.a.Foreach)
	if err != nil {
		return err
	}
	items, ok := v.([]any)
	if v == nil {
		items, ok = []any{}, true
	}
	if !ok {
		return failf("InvalidTemplate", "The 'foreach' expression of action '%s' must evaluate to an array, not %s", c.name, kindName(v))
	}
	if len(items) > maxForeachItems {
		return failf("InvalidTemplate", "The 'foreach' of action '%s' has %d items; the limit is %d", c.name, len(items), maxForeachItems)
	}
	c.rec.Inputs = map[string]any{"count": int64(len(items))}
	par := defaultRepetitions
	if rc := c.a.RuntimeConfiguration; rc != nil && rc.Concurrency != nil && rc.Concurrency.Repetitions > 0 {
		par = rc.Concurrency.Repetitions
	}
	if strings.Contains(strings.ToLower(c.a.OperationOptions), "sequential") {
		par = 1
	}
	par = min(par, max(len(items), 1))
	var (
		mu       sync.Mutex
		failed   bool
		fatal    error
		next     int
		wg       sync.WaitGroup
		failures int
	)
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= len(items) || fatal != nil || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				f := &frame{parent: c.f, loop: c.name, index: i, item: items[i], each: true}
				st, err := c.rs.runSet(ctx, c.a.Actions, f)
				mu.Lock()
				if err != nil && fatal == nil {
					fatal = err
				}
				if st == StatusFailed {
					failed = true
					failures++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fatal != nil {
		return fatal
	}
	if failed {
		return failf("ActionFailed", "An action failed in %d of %d iterations. No dependent actions succeeded.", failures, len(items))
	}
	return nil
}

func actUntil(ctx context.Context, c *call) error {
	count := int64(60)
	timeout := time.Hour
	if l := c.a.Limit; l != nil {
		if l.Count != nil {
			v, err := c.resolve(l.Count)
			if err != nil {
				return err
			}
			n, ok := v.(int64)
			if !ok || n < 1 || n > 5000 {
				return failf("InvalidTemplate", "The limit count of action '%s' must be an integer from 1 to 5000", c.name)
			}
			count = n
		}
		if l.Timeout != "" {
			if d, err := ParseDuration(l.Timeout); err == nil {
				timeout = d
			}
		}
	}
	uctx, cancel := context.WithTimeout(ctx, time.Duration(float64(timeout)/c.rs.e.opt.TimeScale))
	defer cancel()
	var i int64
	for i = 0; i < count; i++ {
		f := &frame{parent: c.f, loop: c.name, index: int(i)}
		st, err := c.rs.runSet(uctx, c.a.Actions, f)
		if err != nil {
			if ctx.Err() == nil && uctx.Err() != nil {
				break // the loop's own timeout: stop iterating
			}
			return err
		}
		if st == StatusFailed {
			c.rec.Outputs = map[string]any{"iterations": i + 1}
			return failf("ActionFailed", "An action failed in iteration %d. No dependent actions succeeded.", i)
		}
		ok, err := c.condition(f)
		if err != nil {
			return err
		}
		if ok {
			c.rec.Outputs = map[string]any{"iterations": i + 1}
			return nil
		}
	}
	c.rec.Outputs = map[string]any{"iterations": i}
	if uctx.Err() != nil && ctx.Err() == nil {
		return &actionError{Code: "ActionTimedOut", Message: fmt.Sprintf("The Until loop '%s' did not finish within its timeout.", c.name), Status: StatusTimedOut}
	}
	return nil
}

func actTerminate(_ context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	c.rec.Inputs = in
	m, _ := in.(map[string]any)
	status, _ := m["runStatus"].(string)
	switch strings.ToLower(status) {
	case "failed":
		status = StatusFailed
	case "cancelled":
		status = StatusCancelled
	default:
		status = StatusSucceeded
	}
	var runErr any
	if re, ok := m["runError"].(map[string]any); ok {
		runErr = re
	} else if status == StatusFailed {
		runErr = map[string]any{"code": "Terminated", "message": fmt.Sprintf("The run was terminated by action '%s'.", c.name)}
	}
	// The Terminate record is written before the run stops.
	c.rec.EndTime = c.rs.e.opt.Now().UTC()
	c.rec.Status, c.rec.Code = StatusSucceeded, "OK"
	if err := c.rs.save(c.rec, nil); err != nil {
		return err
	}
	c.saved = true
	c.rs.mu.Lock()
	if c.rs.term == nil {
		c.rs.term = &termination{status: status, err: runErr}
	}
	c.rs.mu.Unlock()
	c.rs.cancel()
	return nil
}

func actWait(ctx context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	c.rec.Inputs = in
	m, _ := in.(map[string]any)
	start, err := c.rs.timer(c.rec.Path+"#start", c.rec.StartTime)
	if err != nil {
		return err
	}
	// The start is durable: a run resumed on another node waits only for
	// what is left, and the record keeps the original start time.
	c.rec.StartTime = start
	var deadline time.Time
	if iv, ok := m["interval"].(map[string]any); ok {
		n, _ := iv["count"].(int64)
		unit, _ := iv["unit"].(string)
		var d time.Duration
		switch strings.ToLower(unit) {
		case "second":
			d = time.Duration(n) * time.Second
		case "minute":
			d = time.Duration(n) * time.Minute
		case "hour":
			d = time.Duration(n) * time.Hour
		case "day":
			d = time.Duration(n) * 24 * time.Hour
		case "week":
			d = time.Duration(n) * 7 * 24 * time.Hour
		case "month":
			d = time.Duration(n) * 30 * 24 * time.Hour
		default:
			return failf("InvalidTemplate", "The wait unit '%s' is not valid", unit)
		}
		deadline = start.Add(d)
	} else if u, ok := m["until"].(map[string]any); ok {
		ts, _ := u["timestamp"].(string)
		v, err := expr.Eval(&expr.Call{Name: "parseDateTime", Args: []expr.Node{&expr.Lit{Value: ts}}}, c.scope())
		if err != nil {
			return failf("InvalidTemplate", "The wait timestamp '%s' is not valid", ts)
		}
		deadline, _ = time.Parse(time.RFC3339Nano, expr.ToString(v))
	} else {
		return failf("InvalidTemplate", "A Wait action needs inputs.interval or inputs.until")
	}
	if left := deadline.Sub(c.rs.e.opt.Now()); left > 0 {
		if err := c.rs.e.sleep(ctx, left); err != nil {
			return err
		}
	}
	return nil
}
