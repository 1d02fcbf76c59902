package iota

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// MaxExpressionLen bounds the length of a provisioned expression.
const MaxExpressionLen = 1024

// maxExprNodes bounds the syntax tree of a compiled expression, and
// maxExprText the text any whitelisted function may build, so that an
// evaluation costs time and memory in proportion to its inputs.
const (
	maxExprNodes = 256
	maxExprText  = 64 << 10
)

// ExpressionFunctions lists the functions an expression may call: the IoT
// Agent library's JEXL transformations that are pure and of bounded cost.
// Anything else (regular-expression replaces, now(), localestring, …) fails
// to compile, as do expr-lang's own builtins.
var ExpressionFunctions = []string{
	"ceil", "floor", "gettime", "indexOf", "isnan", "joinarrtostr", "jsonparse", "jsonstringify",
	"length", "lengtharray", "mapper", "parsefloat", "parseint", "replaceallstr", "replacestr",
	"round", "split", "substr", "tofixed", "toisodate", "tolowercase", "tostring", "touppercase",
	"trim", "typeof",
}

// programs memoizes compiled expressions by source. Expressions come from
// provisioning, so the set is small; past maxPrograms entries new ones are
// compiled on every use rather than cached.
var programs struct {
	sync.RWMutex
	m map[string]*vm.Program
}

const maxPrograms = 4096

// compileExpr translates an IoT Agent expression into expr-lang and compiles
// it, with the builtins disabled and only ExpressionFunctions available.
func compileExpr(src string) (*vm.Program, error) {
	programs.RLock()
	p, ok := programs.m[src]
	programs.RUnlock()
	if ok {
		return p, nil
	}
	if len(src) > MaxExpressionLen {
		return nil, fmt.Errorf("must be at most %d bytes", MaxExpressionLen)
	}
	code, err := translateExpr(src)
	if err != nil {
		return nil, err
	}
	guard := &callGuard{}
	opts := []expr.Option{expr.DisableAllBuiltins(), expr.MaxNodes(maxExprNodes), expr.Patch(guard)}
	opts = append(opts, exprFunctions...)
	p, err = expr.Compile(code, opts...)
	if err != nil {
		return nil, fmt.Errorf("does not compile: %s", firstLine(err.Error()))
	}
	if guard.bad != "" {
		return nil, fmt.Errorf("does not compile: %s", guard.bad)
	}
	programs.Lock()
	if programs.m == nil {
		programs.m = make(map[string]*vm.Program)
	}
	if len(programs.m) < maxPrograms {
		programs.m[src] = p
	}
	programs.Unlock()
	return p, nil
}

// callGuard refuses, at compile time, every call but to a whitelisted
// function (method calls, calls of variables, builtins, predicates and
// variable declarations included): without a typed environment, expr-lang
// would otherwise accept them and fail only when run.
type callGuard struct {
	bad string
}

var whitelisted = func() map[string]bool {
	m := make(map[string]bool, len(ExpressionFunctions))
	for _, f := range ExpressionFunctions {
		m[f] = true
	}
	return m
}()

// Visit implements ast.Visitor.
func (g *callGuard) Visit(node *ast.Node) {
	if g.bad != "" {
		return
	}
	switch n := (*node).(type) {
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || !whitelisted[id.Value] {
			g.bad = "only the functions " + strings.Join(ExpressionFunctions, ", ") + " may be called"
		}
	case *ast.BuiltinNode, *ast.PredicateNode, *ast.PointerNode, *ast.VariableDeclaratorNode:
		g.bad = "builtins, predicates and variables are not available"
	case *ast.MemberNode:
		if n.Method {
			g.bad = "methods may not be called"
		}
	}
}

// evalExpr evaluates a provisioned expression over env. A result that is
// null, undefined or not a finite number is Null, as the IoT Agent library
// turns such results into null.
func evalExpr(src string, env map[string]any) (Value, error) {
	p, err := compileExpr(src)
	if err != nil {
		return Null, err
	}
	var machine vm.VM
	out, err := machine.Run(p, env)
	if err != nil {
		return Null, errors.New(firstLine(err.Error()))
	}
	v, ok := valueOf(out)
	if !ok {
		return Null, nil
	}
	return v, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return clip(s)
}

// translateExpr turns the two expression languages of the IoT Agents into
// expr-lang:
//
//   - the legacy language, "${@level / 100}" or "${@latitude}, ${@longitude}":
//     every ${…} is an expression in which @name names a measure; text
//     around them is concatenated;
//   - JEXL, "level * 0.897", "ts|toisodate", "name|substr(0,2)": the same
//     operators as expr-lang, except that a transform without arguments
//     ("|trim") becomes an expr-lang pipe call ("| trim()").
func translateExpr(src string) (string, error) {
	if !utf8.ValidString(src) {
		return "", errors.New("must be valid UTF-8")
	}
	if strings.TrimSpace(src) == "" {
		return "", errors.New("must not be empty")
	}
	if !strings.Contains(src, "${") {
		return translateJEXL(src)
	}
	var parts []string
	literal := false
	rest := src
	for rest != "" {
		i := strings.Index(rest, "${")
		if i < 0 {
			parts, literal = append(parts, strconv.Quote(rest)), true
			break
		}
		if i > 0 {
			parts, literal = append(parts, strconv.Quote(rest[:i])), true
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", errors.New("a ${ has no closing }")
		}
		body := strings.ReplaceAll(rest[i+2:i+j], "@", "")
		code, err := translateJEXL(body)
		if err != nil {
			return "", err
		}
		parts = append(parts, "("+code+")")
		rest = rest[i+j+1:]
	}
	if len(parts) == 1 && !literal {
		return parts[0], nil
	}
	for i, p := range parts {
		if p[0] == '(' {
			parts[i] = "tostring" + p
		}
	}
	return strings.Join(parts, " + "), nil
}

// translateJEXL rewrites JEXL transforms into expr-lang calls:
// "x|f" becomes "f(x)" and "x|f(a, b)" becomes "f(x, a, b)", where x is
// the operand just before the '|' (an identifier or literal with its
// member accesses, indexes and calls, or a parenthesized group), since a
// JEXL transform binds tighter than any operator ("s|upper + t|lower").
// String literals are copied as they are.
func translateJEXL(src string) (string, error) {
	out := make([]byte, 0, len(src)+16)
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(src, i)
			if err != nil {
				return "", err
			}
			out = append(out, src[i:j]...)
			i = j - 1
		case c == '|' && i+1 < len(src) && src[i+1] == '|':
			out = append(out, "||"...)
			i++
		case c == '|':
			j := i + 1
			for j < len(src) && src[j] == ' ' {
				j++
			}
			k := j
			for k < len(src) && isIdentByte(src[k]) {
				k++
			}
			if k == j {
				return "", errors.New("a | must be followed by a transform name")
			}
			name := src[j:k]
			args := ""
			l := k
			for l < len(src) && src[l] == ' ' {
				l++
			}
			if l < len(src) && src[l] == '(' {
				end, err := matchParen(src, l)
				if err != nil {
					return "", err
				}
				inner, err := translateJEXL(src[l+1 : end])
				if err != nil {
					return "", err
				}
				if strings.TrimSpace(inner) != "" {
					args = ", " + inner
				}
				k = end + 1
			}
			trimmed := strings.TrimRight(string(out), " ")
			start := operandStart(trimmed)
			if start == len(trimmed) {
				return "", errors.New("a | transform needs a value before it")
			}
			call := name + "(" + trimmed[start:] + args + ")"
			out = append([]byte(trimmed[:start]), call...)
			i = k - 1
		default:
			out = append(out, c)
		}
	}
	return string(out), nil
}

// skipString returns the index just past the string literal starting at i.
func skipString(src string, i int) (int, error) {
	q := src[i]
	j := i + 1
	for j < len(src) && src[j] != q {
		if src[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(src) {
		return 0, errors.New("a string literal is not closed")
	}
	return j + 1, nil
}

// matchParen returns the index of the ')' closing the '(' at i.
func matchParen(src string, i int) (int, error) {
	depth := 0
	for j := i; j < len(src); j++ {
		switch src[j] {
		case '"', '\'', '`':
			k, err := skipString(src, j)
			if err != nil {
				return 0, err
			}
			j = k - 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, errors.New("a ( is not closed")
}

// operandStart returns where the operand that ends s starts: a postfix
// chain of identifiers, literals, member accesses, indexes, calls and
// parenthesized groups.
func operandStart(s string) int {
	i := len(s)
	for i > 0 {
		c := s[i-1]
		group := false
		switch {
		case c == ')' || c == ']':
			open := byte('(')
			if c == ']' {
				open = '['
			}
			depth, j := 0, i-1
			for ; j >= 0; j-- {
				if s[j] == c {
					depth++
				} else if s[j] == open {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j < 0 {
				return i
			}
			i, group = j, true
		case c == '"' || c == '\'' || c == '`':
			j := strings.LastIndexByte(s[:i-1], c)
			if j < 0 {
				return i
			}
			i = j
		case isIdentByte(c) || c == '.':
			for i > 0 && (isIdentByte(s[i-1]) || s[i-1] == '.') {
				i--
			}
		default:
			return i
		}
		if i == 0 {
			return 0
		}
		prev := s[i-1]
		switch {
		case s[i] == '.':
			// A member access on what precedes.
		case group && (isIdentByte(prev) || prev == ')' || prev == ']' || prev == '"' || prev == '\'' || prev == '`'):
			// A call or an index on what precedes.
		default:
			return i
		}
	}
	return i
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// exprFunctions are the whitelisted functions, with JavaScript's semantics
// where the IoT Agent library relies on them.
var exprFunctions = []expr.Option{
	fn1("parseint", func(x any) (any, error) { return jsParseNumber(x, true), nil }),
	fn1("parsefloat", func(x any) (any, error) { return jsParseNumber(x, false), nil }),
	fn1("round", func(x any) (any, error) {
		return mathFn(x, func(f float64) float64 { return math.Floor(f + 0.5) }), nil
	}),
	fn1("floor", func(x any) (any, error) { return mathFn(x, math.Floor), nil }),
	fn1("ceil", func(x any) (any, error) { return mathFn(x, math.Ceil), nil }),
	fn2("tofixed", func(x, d any) (any, error) {
		f, ok := toNumber(x)
		n, ok2 := toNumber(d)
		if !ok || !ok2 || n < 0 || n > 100 {
			return nil, nil
		}
		return strconv.FormatFloat(f, 'f', int(n), 64), nil
	}),
	fn1("tostring", func(x any) (any, error) { return jsString(x), nil }),
	fn1("touppercase", func(x any) (any, error) { return strings.ToUpper(jsString(x)), nil }),
	fn1("tolowercase", func(x any) (any, error) { return strings.ToLower(jsString(x)), nil }),
	fn1("trim", func(x any) (any, error) { return strings.TrimSpace(jsString(x)), nil }),
	fn1("length", func(x any) (any, error) { return float64(utf8.RuneCountInString(jsString(x))), nil }),
	fn1("lengtharray", func(x any) (any, error) {
		a, ok := x.([]any)
		if !ok {
			return nil, nil
		}
		return float64(len(a)), nil
	}),
	fn2("indexOf", func(x, sub any) (any, error) {
		s, t := []rune(jsString(x)), jsString(sub)
		i := strings.Index(string(s), t)
		if i < 0 {
			return -1.0, nil
		}
		return float64(utf8.RuneCountInString(string(s)[:i])), nil
	}),
	expr.Function("substr", func(args ...any) (any, error) {
		if len(args) < 2 || len(args) > 3 {
			return nil, errors.New("substr takes (text, start[, length])")
		}
		r := []rune(jsString(args[0]))
		start, ok := toNumber(args[1])
		if !ok {
			start = 0
		}
		st := int(math.Max(math.Min(start, float64(len(r))), -float64(len(r))))
		if st < 0 {
			st += len(r)
		}
		n := len(r) - st
		if len(args) == 3 {
			if l, ok := toNumber(args[2]); ok {
				n = int(math.Max(0, math.Min(l, float64(n))))
			}
		}
		return string(r[st : st+n]), nil
	}),
	fn3("replacestr", func(s, from, to any) (any, error) {
		return capText(strings.Replace(jsString(s), jsString(from), jsString(to), 1))
	}),
	fn3("replaceallstr", func(s, from, to any) (any, error) {
		in, f, t := jsString(s), jsString(from), jsString(to)
		if f == "" || int64(strings.Count(in, f))*int64(len(t)) > maxExprText {
			return nil, errors.New("replaceallstr result too long")
		}
		return capText(strings.ReplaceAll(in, f, t))
	}),
	fn2("split", func(s, sep any) (any, error) {
		parts := strings.Split(jsString(s), jsString(sep))
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	}),
	fn2("joinarrtostr", func(a, sep any) (any, error) {
		arr, ok := a.([]any)
		if !ok {
			return nil, nil
		}
		parts := make([]string, len(arr))
		for i, x := range arr {
			parts[i] = jsString(x)
		}
		return capText(strings.Join(parts, jsString(sep)))
	}),
	fn1("jsonparse", func(x any) (any, error) {
		var out any
		if err := json.Unmarshal([]byte(jsString(x)), &out); err != nil {
			return nil, errors.New("jsonparse: not JSON")
		}
		return out, nil
	}),
	fn1("jsonstringify", func(x any) (any, error) {
		b, err := json.Marshal(x)
		if err != nil {
			return nil, errors.New("jsonstringify: no JSON form")
		}
		return capText(string(b))
	}),
	fn1("toisodate", func(x any) (any, error) {
		t, ok := jsDate(x)
		if !ok {
			return nil, errors.New("toisodate: invalid date")
		}
		return t.UTC().Format("2006-01-02T15:04:05.000Z"), nil
	}),
	fn1("gettime", func(x any) (any, error) {
		t, ok := jsDate(x)
		if !ok {
			return nil, nil
		}
		return float64(t.UnixMilli()), nil
	}),
	fn1("typeof", func(x any) (any, error) {
		switch x.(type) {
		case nil:
			return "undefined", nil
		case float64, int, int64:
			return "number", nil
		case string:
			return "string", nil
		case bool:
			return "boolean", nil
		}
		return "object", nil
	}),
	fn1("isnan", func(x any) (any, error) {
		switch t := x.(type) {
		case float64:
			return math.IsNaN(t), nil
		case int, int64, bool, nil:
			return x == nil, nil
		case string:
			s := strings.TrimSpace(t)
			if s == "" {
				return false, nil
			}
			_, err := strconv.ParseFloat(s, 64)
			return err != nil, nil
		}
		return true, nil
	}),
	fn3("mapper", func(v, values, choices any) (any, error) {
		vs, ok1 := values.([]any)
		cs, ok2 := choices.([]any)
		if !ok1 || !ok2 {
			return nil, nil
		}
		for i, x := range vs {
			if looseEqual(x, v) && i < len(cs) {
				return cs[i], nil
			}
		}
		return nil, nil
	}),
}

func fn1(name string, f func(any) (any, error)) expr.Option {
	return expr.Function(name, func(args ...any) (any, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes 1 argument", name)
		}
		return f(args[0])
	})
}

func fn2(name string, f func(any, any) (any, error)) expr.Option {
	return expr.Function(name, func(args ...any) (any, error) {
		if len(args) != 2 {
			return nil, fmt.Errorf("%s takes 2 arguments", name)
		}
		return f(args[0], args[1])
	})
}

func fn3(name string, f func(any, any, any) (any, error)) expr.Option {
	return expr.Function(name, func(args ...any) (any, error) {
		if len(args) != 3 {
			return nil, fmt.Errorf("%s takes 3 arguments", name)
		}
		return f(args[0], args[1], args[2])
	})
}

func capText(s string) (any, error) {
	if len(s) > maxExprText {
		return nil, fmt.Errorf("text result longer than %d bytes", maxExprText)
	}
	return s, nil
}

// toNumber reads a number the way JavaScript arithmetic coerces one.
func toNumber(x any) (float64, bool) {
	switch t := x.(type) {
	case float64:
		return t, !math.IsNaN(t)
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case bool:
		if t {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		return f, err == nil
	}
	return 0, false
}

func mathFn(x any, f func(float64) float64) any {
	n, ok := toNumber(x)
	if !ok {
		return nil
	}
	return f(n)
}

// jsParseNumber is JavaScript's parseInt(x) (integer) or parseFloat(x): the
// longest numeric prefix of the text, nil (NaN) when there is none.
func jsParseNumber(x any, integer bool) any {
	s := strings.TrimSpace(jsString(x))
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	digits := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
		digits++
	}
	if !integer && end < len(s) && s[end] == '.' {
		end++
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
			digits++
		}
		if digits > 0 && end < len(s) && (s[end] == 'e' || s[end] == 'E') {
			e := end + 1
			if e < len(s) && (s[e] == '+' || s[e] == '-') {
				e++
			}
			if e < len(s) && s[e] >= '0' && s[e] <= '9' {
				for e < len(s) && s[e] >= '0' && s[e] <= '9' {
					e++
				}
				end = e
			}
		}
	}
	if digits == 0 {
		return nil
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s[:end], "."), 64)
	if err != nil || math.IsInf(f, 0) {
		return nil
	}
	if integer {
		f = math.Trunc(f)
	}
	return f
}

// jsString is JavaScript's String(x) for the values an expression sees.
func jsString(x any) string {
	switch t := x.(type) {
	case nil:
		return "null"
	case string:
		return t
	case float64:
		return jsNumber(t)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case bool:
		return strconv.FormatBool(t)
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			if e != nil {
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	case map[string]any:
		return "[object Object]"
	}
	return fmt.Sprint(x)
}

// jsNumber formats a number as JavaScript's Number.prototype.toString does
// (for the ranges sensors produce: plain digits from 1e-6 to 1e21).
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + string(sign) + exp
}

// jsDate reads new Date(x): a number of milliseconds since the epoch, or an
// ISO 8601 date-time text.
func jsDate(x any) (time.Time, bool) {
	if f, ok := x.(float64); ok {
		if math.IsNaN(f) || math.Abs(f) > 8.64e15 {
			return time.Time{}, false
		}
		return time.UnixMilli(int64(f)).UTC(), true
	}
	s, ok := x.(string)
	if !ok {
		return time.Time{}, false
	}
	return parseTime(s)
}

// looseEqual is JavaScript's == for the values an expression sees.
func looseEqual(a, b any) bool {
	if fa, ok := toNumber(a); ok {
		if fb, ok := toNumber(b); ok {
			_, sa := a.(string)
			_, sb := b.(string)
			if !(sa && sb) {
				return fa == fb
			}
		}
	}
	return jsString(a) == jsString(b) && (a == nil) == (b == nil)
}
