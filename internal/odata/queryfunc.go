package odata

import (
	"strconv"
	"strings"
	"time"
)

// The Dataverse query functions this compiler knows, by parameter shape.
var (
	setFuncs   = map[string]bool{"In": true, "NotIn": true, "Between": true, "NotBetween": true}
	valueFuncs = map[string]string{"Equal": "=", "NotEqual": "<>", "GreaterThan": ">", "GreaterEqual": ">=", "LessThan": "<", "LessEqual": "<=",
		"On": "on", "NotOn": "noton", "OnOrAfter": ">=", "OnOrBefore": "onorbefore"}
	fixedRanges = map[string]bool{"Today": true, "Yesterday": true, "Tomorrow": true, "Last7Days": true, "Next7Days": true,
		"ThisWeek": true, "LastWeek": true, "NextWeek": true, "ThisMonth": true, "LastMonth": true, "NextMonth": true,
		"ThisYear": true, "LastYear": true, "NextYear": true}
	countFuncs = map[string]bool{"LastXHours": true, "NextXHours": true, "LastXDays": true, "NextXDays": true, "LastXWeeks": true,
		"NextXWeeks": true, "LastXMonths": true, "NextXMonths": true, "LastXYears": true, "NextXYears": true,
		"OlderThanXMinutes": true, "OlderThanXHours": true, "OlderThanXDays": true, "OlderThanXWeeks": true, "OlderThanXMonths": true, "OlderThanXYears": true}
)

func (c *Compiler) queryFunc(sc *scope, f QueryFunc) (sexpr, error) {
	pn, ok := f.Params["PropertyName"].(Literal)
	if !ok || pn.Kind != LitString {
		return sexpr{}, qerr("Microsoft.Dynamics.CRM.%s needs PropertyName='<column>'", f.Name)
	}
	v, err := c.path(sc, strings.Split(pn.Text, "/"))
	if err != nil {
		return sexpr{}, err
	}
	switch {
	case f.Name == "EqualUserId" || f.Name == "NotEqualUserId":
		if v.k != kGUID {
			return sexpr{}, qerr("%s needs a lookup or id column", f.Name)
		}
		op := "="
		if f.Name == "NotEqualUserId" {
			op = "<>"
		}
		return sexpr{sql: "(" + v.sql + " " + op + " ?)", args: append(v.args, c.UserID)}, nil
	case f.Name == "Null" || f.Name == "NotNull":
		if f.Name == "Null" {
			return sexpr{sql: "(" + v.sql + " IS NULL)", args: v.args}, nil
		}
		return sexpr{sql: "(" + v.sql + " IS NOT NULL)", args: v.args}, nil
	case setFuncs[f.Name]:
		return c.setFunc(v, f)
	case valueFuncs[f.Name] != "":
		return c.valueFunc(v, f)
	case fixedRanges[f.Name]:
		if v.k != kTime {
			return sexpr{}, qerr("%s needs a date and time column", f.Name)
		}
		lo, hi := c.fixedRange(f.Name)
		return rangeExpr(v, lo, hi), nil
	case countFuncs[f.Name]:
		if v.k != kTime {
			return sexpr{}, qerr("%s needs a date and time column", f.Name)
		}
		pv, ok := f.Params["PropertyValue"].(Literal)
		n, err := strconv.Atoi(pv.Text)
		if !ok || (pv.Kind != LitInt && pv.Kind != LitString) || err != nil || n < 0 || n > 100000 {
			return sexpr{}, qerr("%s needs PropertyValue=<whole number>", f.Name)
		}
		return c.countRange(v, f.Name, n), nil
	}
	return sexpr{}, qerr("the query function Microsoft.Dynamics.CRM.%s is not supported", f.Name)
}

func rangeExpr(v sexpr, lo, hi time.Time) sexpr {
	// BETWEEN keeps the column once; hi is exclusive, so subtract a microsecond.
	return sexpr{sql: "(" + v.sql + " BETWEEN ? AND ?)", args: append(append([]any{}, v.args...), lo.UnixMicro(), hi.UnixMicro()-1)}
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (c *Compiler) now() time.Time {
	if c.Now.IsZero() {
		return time.Now().UTC()
	}
	return c.Now.UTC()
}

func (c *Compiler) fixedRange(name string) (time.Time, time.Time) {
	now := c.now()
	today := day(now)
	week := today.AddDate(0, 0, -int(today.Weekday()))
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	year := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	switch name {
	case "Today":
		return today, today.AddDate(0, 0, 1)
	case "Yesterday":
		return today.AddDate(0, 0, -1), today
	case "Tomorrow":
		return today.AddDate(0, 0, 1), today.AddDate(0, 0, 2)
	case "Last7Days":
		return today.AddDate(0, 0, -7), now.Add(time.Microsecond)
	case "Next7Days":
		return now, today.AddDate(0, 0, 8)
	case "ThisWeek":
		return week, week.AddDate(0, 0, 7)
	case "LastWeek":
		return week.AddDate(0, 0, -7), week
	case "NextWeek":
		return week.AddDate(0, 0, 7), week.AddDate(0, 0, 14)
	case "ThisMonth":
		return month, month.AddDate(0, 1, 0)
	case "LastMonth":
		return month.AddDate(0, -1, 0), month
	case "NextMonth":
		return month.AddDate(0, 1, 0), month.AddDate(0, 2, 0)
	case "ThisYear":
		return year, year.AddDate(1, 0, 0)
	case "LastYear":
		return year.AddDate(-1, 0, 0), year
	}
	return year.AddDate(1, 0, 0), year.AddDate(2, 0, 0) // NextYear
}

func (c *Compiler) countRange(v sexpr, name string, n int) sexpr {
	now := c.now()
	today := day(now)
	shift := func(t time.Time, sign int) time.Time {
		switch {
		case strings.Contains(name, "Minutes"):
			return t.Add(time.Duration(sign*n) * time.Minute)
		case strings.Contains(name, "Hours"):
			return t.Add(time.Duration(sign*n) * time.Hour)
		case strings.Contains(name, "Days"):
			return t.AddDate(0, 0, sign*n)
		case strings.Contains(name, "Weeks"):
			return t.AddDate(0, 0, sign*7*n)
		case strings.Contains(name, "Months"):
			return t.AddDate(0, sign*n, 0)
		}
		return t.AddDate(sign*n, 0, 0)
	}
	switch {
	case strings.HasPrefix(name, "OlderThan"):
		return sexpr{sql: "(" + v.sql + " < ?)", args: append(append([]any{}, v.args...), shift(now, -1).UnixMicro())}
	case strings.HasPrefix(name, "Last"):
		lo := shift(now, -1)
		if !strings.Contains(name, "Hours") {
			lo = shift(today, -1)
		}
		return rangeExpr(v, lo, now.Add(time.Microsecond))
	}
	hi := shift(now, 1)
	if !strings.Contains(name, "Hours") {
		hi = shift(today, 1).AddDate(0, 0, 1)
	}
	return rangeExpr(v, now, hi)
}

func (c *Compiler) setFunc(v sexpr, f QueryFunc) (sexpr, error) {
	lst, ok := f.Params["PropertyValues"].(List)
	if !ok || len(lst.Items) == 0 {
		return sexpr{}, qerr("Microsoft.Dynamics.CRM.%s needs PropertyValues=[...]", f.Name)
	}
	var args []any
	for _, it := range lst.Items {
		a, err := c.literal(v, it.(Literal))
		if err != nil {
			return sexpr{}, err
		}
		args = append(args, a)
	}
	left, mark := v.sql, "?"
	if v.k == kText {
		left, mark = c.fold(left), c.foldParam()
	}
	all := append(append([]any{}, v.args...), args...)
	switch f.Name {
	case "In", "NotIn":
		marks := strings.TrimSuffix(strings.Repeat(mark+", ", len(args)), ", ")
		if v.k == kText && allStrings(args) {
			// Folded here rather than in SQL, so that the database sees a list
			// of values an index on the folded column can serve.
			for i, a := range args {
				args[i] = foldASCII(a.(string))
			}
			all = append(append([]any{}, v.args...), args...)
			marks = strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
		}
		not := ""
		if f.Name == "NotIn" {
			not = "NOT "
		}
		return sexpr{sql: "(" + left + " " + not + "IN (" + marks + "))", args: all}, nil
	}
	if len(args) != 2 {
		return sexpr{}, qerr("Microsoft.Dynamics.CRM.%s needs two PropertyValues", f.Name)
	}
	not := ""
	if f.Name == "NotBetween" {
		not = "NOT "
	}
	return sexpr{sql: "(" + left + " " + not + "BETWEEN " + mark + " AND " + mark + ")", args: all}, nil
}

func (c *Compiler) valueFunc(v sexpr, f QueryFunc) (sexpr, error) {
	pv, ok := f.Params["PropertyValue"].(Literal)
	if !ok || pv.Kind == LitNull {
		return sexpr{}, qerr("Microsoft.Dynamics.CRM.%s needs PropertyValue", f.Name)
	}
	op := valueFuncs[f.Name]
	switch op {
	case "on", "noton", "onorbefore":
		if v.k != kTime {
			return sexpr{}, qerr("%s needs a date and time column", f.Name)
		}
		a, err := c.literal(v, pv)
		if err != nil {
			return sexpr{}, err
		}
		d := day(time.UnixMicro(a.(int64)))
		switch op {
		case "on":
			return rangeExpr(v, d, d.AddDate(0, 0, 1)), nil
		case "noton":
			r := rangeExpr(v, d, d.AddDate(0, 0, 1))
			return sexpr{sql: "(NOT " + r.sql + ")", args: r.args}, nil
		}
		return sexpr{sql: "(" + v.sql + " < ?)", args: append(append([]any{}, v.args...), d.AddDate(0, 0, 1).UnixMicro())}, nil
	}
	a, err := c.literal(v, pv)
	if err != nil {
		return sexpr{}, err
	}
	if v.k == kTime && f.Name == "OnOrAfter" {
		a = day(time.UnixMicro(a.(int64))).UnixMicro()
	}
	left, mark := v.sql, "?"
	if v.k == kText {
		left, mark = c.fold(left), c.foldParam()
	}
	return sexpr{sql: "(" + left + " " + op + " " + mark + ")", args: append(append([]any{}, v.args...), a)}, nil
}

func allStrings(vs []any) bool {
	for _, v := range vs {
		if _, ok := v.(string); !ok {
			return false
		}
	}
	return true
}

// foldASCII lowers ASCII letters only, as the SQL fold does (LOWER in SQLite,
// LOWER under the "C" collation in PostgreSQL).
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
