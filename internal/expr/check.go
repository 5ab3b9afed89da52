package expr

import "fmt"

// CheckError is a problem found without running an expression.
type CheckError struct {
	Pos int
	Msg string
}

func (e *CheckError) Error() string { return fmt.Sprintf("position %d: %s", e.Pos, e.Msg) }

// Check finds unknown functions, wrong argument counts and arguments whose
// type is known before the run (literals and function results) but wrong.
// Visit, when not nil, sees every call (for checks that need the workflow:
// variables that exist, actions that exist, parameters that are declared).
func Check(n Node, visit func(c *Call) error) []error {
	var errs []error
	inferCheck(n, visit, &errs)
	return errs
}

func inferCheck(n Node, visit func(c *Call) error, errs *[]error) Kind {
	switch n := n.(type) {
	case *Lit:
		return KindOf(n.Value)
	case *Index:
		x := inferCheck(n.X, visit, errs)
		k := inferCheck(n.Key, visit, errs)
		if x != KAny && x&(KObject|KArray|KNull) == 0 {
			*errs = append(*errs, &CheckError{Pos: n.Pos, Msg: fmt.Sprintf("cannot select a property of a %s value", x)})
		}
		if k != KAny && k&(KString|KInt) == 0 {
			*errs = append(*errs, &CheckError{Pos: n.Pos, Msg: fmt.Sprintf("a property must be selected with a string or an integer, not a %s", k)})
		}
		return KAny
	case *Call:
		kinds := make([]Kind, len(n.Args))
		for i, a := range n.Args {
			kinds[i] = inferCheck(a, visit, errs)
		}
		f, ok := Lookup(n.Name)
		if !ok {
			*errs = append(*errs, &CheckError{Pos: n.Pos, Msg: fmt.Sprintf("the template function '%s' is not defined or not valid", n.Name)})
			return KAny
		}
		if err := f.checkArity(n.Name, len(n.Args)); err != nil {
			*errs = append(*errs, &CheckError{Pos: n.Pos, Msg: err.Error()})
			return f.Returns
		}
		for i, k := range kinds {
			want := f.param(i)
			if k != KAny && k&want == 0 && !(k == KNull && want&KString != 0) {
				*errs = append(*errs, &CheckError{Pos: n.Args[i].pos(), Msg: fmt.Sprintf(
					"the template language function '%s' expects its parameter %d to be of type %s, but the provided value is of type %s",
					n.Name, i+1, want, k)})
			}
		}
		if visit != nil {
			if err := visit(n); err != nil {
				*errs = append(*errs, &CheckError{Pos: n.Pos, Msg: err.Error()})
			}
		}
		return f.Returns
	}
	return KAny
}
