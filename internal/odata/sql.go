package odata

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"junction/internal/records"
	"junction/internal/store"
)

// Compiler turns parsed query options into parameterised SQL. Every value
// becomes a `?` argument; identifiers come only from the table metadata.
// String comparison folds ASCII case on both databases (LOWER, under the "C"
// collation on PostgreSQL, which is what SQLite's LOWER does), so results and
// orderings are identical.
type Compiler struct {
	Tables  map[string]*records.Table
	Dialect store.Dialect
	Now     time.Time
	UserID  string
	n       int
}

// Frag is a piece of SQL with its arguments, in placeholder order.
type Frag struct {
	SQL  string
	Args []any
}

type kind int

const (
	kPred kind = iota
	kText
	kInt
	kFloat
	kBool
	kTime
	kGUID
	kNull
)

type sexpr struct {
	sql  string
	args []any
	k    kind
	col  *records.Column
}

type scope struct {
	t      *records.Table
	alias  string
	v      string
	parent *scope
}

// QueryError is a query that is well-formed but does not fit the metadata.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

func qerr(format string, args ...any) error { return &QueryError{Msg: fmt.Sprintf(format, args...)} }

func (c *Compiler) alias() string {
	c.n++
	return "j" + strconv.Itoa(c.n)
}

func (c *Compiler) fold(x string) string { return records.Fold(c.Dialect, x) }

func (c *Compiler) foldParam() string { return records.FoldParam(c.Dialect) }

// Filter compiles e against table t whose rows are aliased alias.
func (c *Compiler) Filter(t *records.Table, alias string, e Expr) (Frag, error) {
	x, err := c.pred(&scope{t: t, alias: alias}, e)
	if err != nil {
		return Frag{}, err
	}
	return Frag{SQL: x.sql, Args: x.args}, nil
}

// OrderBy compiles the ORDER BY list, ending with the primary key so that
// ties are ordered the same on every database.
func (c *Compiler) OrderBy(t *records.Table, alias string, orders []Order) (Frag, error) {
	var parts []string
	var args []any
	sc := &scope{t: t, alias: alias}
	for _, o := range orders {
		x, err := c.path(sc, o.Path)
		if err != nil {
			return Frag{}, err
		}
		s := x.sql
		if x.k == kText {
			s = c.fold(s)
		}
		if o.Desc {
			s += " DESC NULLS LAST"
		} else {
			s += " ASC NULLS FIRST"
		}
		parts = append(parts, s)
		args = append(args, x.args...)
	}
	parts = append(parts, alias+"."+records.Quote(t.PrimaryID())+" ASC")
	return Frag{SQL: strings.Join(parts, ", "), Args: args}, nil
}

// OrderTerm is one ORDER BY term for column col of t aliased alias.
func (c *Compiler) OrderTerm(t *records.Table, alias, col string, desc bool) (string, error) {
	x, err := c.column(&scope{t: t, alias: alias}, col)
	if err != nil {
		return "", err
	}
	s := x.sql
	if x.k == kText {
		s = c.fold(s)
	}
	if desc {
		return s + " DESC NULLS LAST", nil
	}
	return s + " ASC NULLS FIRST", nil
}

func kindOf(col *records.Column) kind {
	switch col.Type {
	case records.String, records.Memo, records.AutoNumber:
		return kText
	case records.Integer, records.BigInt, records.Picklist, records.State, records.Status:
		return kInt
	case records.Decimal, records.Double, records.Money:
		return kFloat
	case records.Boolean:
		return kBool
	case records.DateTime:
		return kTime
	}
	return kGUID
}

func (c *Compiler) column(sc *scope, name string) (sexpr, error) {
	cn := name
	if strings.HasPrefix(name, "_") && strings.HasSuffix(name, "_value") && len(name) > 7 {
		cn = name[1 : len(name)-6]
	}
	col, ok := sc.t.Column(cn)
	if !ok || (cn != name && !col.Type.IsLookup()) {
		return sexpr{}, qerr("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", name, sc.t.Name)
	}
	return sexpr{sql: sc.alias + "." + records.Quote(col.Name), k: kindOf(col), col: col}, nil
}

func (c *Compiler) nav(t *records.Table, name string) (records.Nav, bool) {
	for _, n := range t.Navs(c.Tables) {
		if n.Name == name {
			return n, true
		}
	}
	return records.Nav{}, false
}

func (c *Compiler) path(sc *scope, segs []string) (sexpr, error) {
	if len(segs) == 0 {
		return sexpr{}, qerr("empty property path")
	}
	// A lambda variable names its own scope.
	for s := sc; s != nil; s = s.parent {
		if s.v != "" && s.v == segs[0] {
			if len(segs) == 1 {
				return sexpr{}, qerr("the lambda variable %s needs a property", segs[0])
			}
			return c.path(&scope{t: s.t, alias: s.alias}, segs[1:])
		}
	}
	if len(segs) == 1 {
		return c.column(sc, segs[0])
	}
	nv, ok := c.nav(sc.t, segs[0])
	if !ok || nv.Collection {
		return sexpr{}, qerr("Could not find a single-valued navigation property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", segs[0], sc.t.Name)
	}
	other := c.Tables[nv.Other]
	a := c.alias()
	inner, err := c.path(&scope{t: other, alias: a}, segs[1:])
	if err != nil {
		return sexpr{}, err
	}
	return sexpr{
		sql:  fmt.Sprintf("(SELECT %s FROM %s %s WHERE %s.%s = %s.%s)", inner.sql, records.Quote(other.SQLName()), a, a, records.Quote(other.PrimaryID()), sc.alias, records.Quote(nv.Column.Name)),
		args: inner.args, k: inner.k, col: inner.col,
	}, nil
}

func (c *Compiler) pred(sc *scope, e Expr) (sexpr, error) {
	switch x := e.(type) {
	case Binary:
		switch x.Op {
		case "and", "or":
			l, err := c.pred(sc, x.L)
			if err != nil {
				return sexpr{}, err
			}
			r, err := c.pred(sc, x.R)
			if err != nil {
				return sexpr{}, err
			}
			return sexpr{sql: "(" + l.sql + " " + strings.ToUpper(x.Op) + " " + r.sql + ")", args: append(l.args, r.args...)}, nil
		}
		return c.compare(sc, x)
	case Not:
		in, err := c.pred(sc, x.X)
		if err != nil {
			return sexpr{}, err
		}
		return sexpr{sql: "(NOT " + in.sql + ")", args: in.args}, nil
	case Call:
		return c.stringPred(sc, x)
	case Lambda:
		return c.lambda(sc, x)
	case QueryFunc:
		return c.queryFunc(sc, x)
	case Path:
		v, err := c.path(sc, x.Segments)
		if err != nil {
			return sexpr{}, err
		}
		if v.k != kBool {
			return sexpr{}, qerr("%s is not a Boolean property", strings.Join(x.Segments, "/"))
		}
		return sexpr{sql: "(" + v.sql + " = 1)", args: v.args}, nil
	case Literal:
		if x.Kind == LitBool {
			if x.Text == "true" {
				return sexpr{sql: "(1 = 1)"}, nil
			}
			return sexpr{sql: "(1 = 0)"}, nil
		}
	}
	return sexpr{}, qerr("the expression is not a condition")
}

var mirror = map[string]string{"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
var sqlOp = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

func (c *Compiler) value(sc *scope, e Expr) (sexpr, error) {
	switch x := e.(type) {
	case Path:
		return c.path(sc, x.Segments)
	case Call:
		switch x.Name {
		case "tolower", "toupper", "trim":
			in, err := c.value(sc, x.Args[0])
			if err != nil {
				return sexpr{}, err
			}
			if in.k != kText {
				return sexpr{}, qerr("%s needs a string", x.Name)
			}
			if x.Name == "trim" {
				return sexpr{sql: "TRIM(" + in.sql + ")", args: in.args, k: kText}, nil
			}
			return sexpr{sql: in.sql, args: in.args, k: kText}, nil // comparisons fold case anyway
		case "length":
			in, err := c.value(sc, x.Args[0])
			if err != nil {
				return sexpr{}, err
			}
			if in.k != kText {
				return sexpr{}, qerr("length needs a string")
			}
			return sexpr{sql: "LENGTH(" + in.sql + ")", args: in.args, k: kInt}, nil
		}
	}
	return sexpr{}, qerr("unsupported operand in a comparison")
}

func (c *Compiler) compare(sc *scope, b Binary) (sexpr, error) {
	l, r, op := b.L, b.R, b.Op
	if _, ok := l.(Literal); ok {
		if _, ok := r.(Literal); !ok {
			l, r, op = r, l, mirror[op]
		}
	}
	lv, err := c.value(sc, l)
	if err != nil {
		return sexpr{}, err
	}
	if lit, ok := r.(Literal); ok {
		if lit.Kind == LitNull {
			switch op {
			case "eq":
				return sexpr{sql: "(" + lv.sql + " IS NULL)", args: lv.args}, nil
			case "ne":
				return sexpr{sql: "(" + lv.sql + " IS NOT NULL)", args: lv.args}, nil
			}
			return sexpr{}, qerr("null can only be compared with eq or ne")
		}
		arg, err := c.literal(lv, lit)
		if err != nil {
			return sexpr{}, err
		}
		if lv.k == kText {
			return sexpr{sql: "(" + c.fold(lv.sql) + " " + sqlOp[op] + " " + c.foldParam() + ")", args: append(lv.args, arg)}, nil
		}
		left := lv.sql
		if lv.k == kInt {
			if _, isFloat := arg.(float64); isFloat {
				left = "CAST(" + left + " AS DOUBLE PRECISION)"
			}
		}
		cmp := "(" + left + " " + sqlOp[op] + " ?)"
		if c.Dialect == store.SQLite && lv.col != nil && lv.col.Type == records.State {
			// statecode is indexed but has few values, and most rows are
			// active: SQLite would take a condition on it for a selective one
			// and prefer its index, then sort, to an index that serves the
			// ORDER BY and stops at the LIMIT. Said to keep most rows, it is
			// used only when nothing better is.
			cmp = "likelihood(" + cmp + ", 0.9)"
		}
		return sexpr{sql: cmp, args: append(lv.args, arg)}, nil
	}
	rv, err := c.value(sc, r)
	if err != nil {
		return sexpr{}, err
	}
	if !comparable(lv.k, rv.k) {
		return sexpr{}, qerr("the two sides of %s have different types", op)
	}
	ls, rs := lv.sql, rv.sql
	if lv.k == kText {
		ls, rs = c.fold(ls), c.fold(rs)
	}
	return sexpr{sql: "(" + ls + " " + sqlOp[op] + " " + rs + ")", args: append(lv.args, rv.args...)}, nil
}

func comparable(a, b kind) bool {
	num := func(k kind) bool { return k == kInt || k == kFloat }
	return a == b || num(a) && num(b)
}

// literal converts lit to the argument for a comparison with v.
func (c *Compiler) literal(v sexpr, lit Literal) (any, error) {
	name := "the value"
	if v.col != nil {
		name = v.col.Name
	}
	mismatch := func() error {
		return qerr("%s cannot be compared with the literal %q", name, lit.Text)
	}
	switch v.k {
	case kText:
		if lit.Kind != LitString {
			return nil, mismatch()
		}
		return lit.Text, nil
	case kGUID:
		if lit.Kind != LitGUID && !(lit.Kind == LitString && records.IsGUID(lit.Text)) {
			return nil, mismatch()
		}
		return strings.ToLower(lit.Text), nil
	case kBool:
		if lit.Kind != LitBool {
			return nil, mismatch()
		}
		if lit.Text == "true" {
			return int64(1), nil
		}
		return int64(0), nil
	case kInt, kFloat:
		switch lit.Kind {
		case LitInt:
			n, err := strconv.ParseInt(lit.Text, 10, 64)
			if err != nil {
				return nil, mismatch()
			}
			if v.k == kFloat {
				return float64(n), nil
			}
			return n, nil
		case LitFloat:
			f, err := strconv.ParseFloat(lit.Text, 64)
			if err != nil {
				return nil, mismatch()
			}
			return f, nil
		case LitString: // Dataverse accepts quoted numbers for choices
			if n, err := strconv.ParseInt(lit.Text, 10, 64); err == nil && v.k == kInt {
				return n, nil
			}
		}
		return nil, mismatch()
	case kTime:
		switch lit.Kind {
		case LitDateTime, LitDate, LitString:
			t, err := records.ParseTime(lit.Text)
			if err != nil {
				return nil, mismatch()
			}
			return t.UnixMicro(), nil
		}
		return nil, mismatch()
	}
	return nil, mismatch()
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func (c *Compiler) stringPred(sc *scope, x Call) (sexpr, error) {
	switch x.Name {
	case "contains", "startswith", "endswith", "like":
	default:
		return sexpr{}, qerr("%s is not a condition", x.Name)
	}
	v, err := c.value(sc, x.Args[0])
	if err != nil {
		return sexpr{}, err
	}
	lit, ok := x.Args[1].(Literal)
	if v.k != kText || !ok || lit.Kind != LitString {
		return sexpr{}, qerr("%s needs a string property and a string literal", x.Name)
	}
	pat := escapeLike(lit.Text)
	if x.Name == "like" { // FetchXML's like: the caller's own % and _ wildcards
		pat = strings.ReplaceAll(lit.Text, `\`, `\\`)
	}
	switch x.Name {
	case "contains":
		pat = "%" + pat + "%"
	case "startswith":
		pat += "%"
	case "endswith":
		pat = "%" + pat
	}
	return sexpr{sql: "(" + c.fold(v.sql) + " LIKE " + c.foldParam() + " ESCAPE '\\')", args: append(v.args, pat)}, nil
}

func (c *Compiler) lambda(sc *scope, l Lambda) (sexpr, error) {
	if len(l.Nav) != 1 {
		return sexpr{}, qerr("any/all needs a collection-valued navigation property of %s", sc.t.Name)
	}
	nv, ok := c.nav(sc.t, l.Nav[0])
	if !ok || !nv.Collection {
		return sexpr{}, qerr("Could not find a collection-valued navigation property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", l.Nav[0], sc.t.Name)
	}
	other := c.Tables[nv.Other]
	a := c.alias()
	head := fmt.Sprintf("SELECT 1 FROM %s %s WHERE %s.%s = %s.%s", records.Quote(other.SQLName()), a, a, records.Quote(nv.Column.Name), sc.alias, records.Quote(sc.t.PrimaryID()))
	var args []any
	if nv.Column.Type == records.Customer {
		head += fmt.Sprintf(" AND %s.%s = ?", a, records.Quote(records.TypeColumn(nv.Column)))
		args = append(args, sc.t.Name)
	}
	if l.Body == nil {
		return sexpr{sql: "EXISTS (" + head + ")", args: args}, nil
	}
	if l.Var == "" {
		return sexpr{}, qerr("a lambda needs a variable")
	}
	body, err := c.pred(&scope{t: other, alias: a, v: l.Var, parent: sc}, l.Body)
	if err != nil {
		return sexpr{}, err
	}
	args = append(args, body.args...)
	if l.Op == "any" {
		return sexpr{sql: "EXISTS (" + head + " AND " + body.sql + ")", args: args}, nil
	}
	return sexpr{sql: "NOT EXISTS (" + head + " AND (CASE WHEN " + body.sql + " THEN 0 ELSE 1 END) = 1)", args: args}, nil
}
