package ngsild

// This file holds the NGSI-LD query language (ETSI GS CIM 009 clause 4.9),
// the value of the q parameter of GET /ngsi-ld/v1/entities and of a
// subscription's q member: a parser producing an immutable *Q and an
// evaluator that reads attribute values through a Getter, so it depends on
// none of the twin's types.
//
// Grammar accepted (the caller has already percent-decoded the parameter;
// there is no whitespace outside quoted strings and regular expressions):
//
//	Query     = Or
//	Or        = And *( "|" And )                    ; "|" is OR
//	And       = Factor *( ";" Factor )              ; ";" is AND, binds tighter than OR
//	Factor    = "(" Or ")" / Term                   ; nesting allowed, at most MaxQDepth deep
//	Term      = "!" Attribute                       ; the target element does not exist
//	          / Attribute                           ; the target element exists
//	          / Attribute ( "==" / "!=" ) EqValue
//	          / Attribute ( ">" / ">=" / "<" / "<=" ) Comparable
//	          / Attribute ( "~=" / "!~=" ) Pattern
//	Attribute = Name *( "." Name ) *( "[" Name *( "." Name ) "]" )
//	Name      = 1*( letter / digit / "_" ) [ ":" 1*iriChar ]
//	EqValue   = Comparable ".." Comparable          ; inclusive range
//	          / Value 1*( "," Value )               ; list
//	          / Value
//	Value     = Comparable / "true" / "false" / URI
//	Comparable= Number / String / DateTime / Date / Time
//	Number    = JSON number (RFC 8259 §6)
//	String    = JSON string (RFC 8259 §7), double-quoted with JSON escapes
//	DateTime  = YYYY-MM-DD "T" hh:mm:ss [ "." 1*DIGIT ] ( "Z" / ("+" / "-") hh:mm )
//	Date      = YYYY-MM-DD
//	Time      = hh:mm:ss [ "." 1*DIGIT ] [ "Z" ]
//	URI       = scheme ":" 1*uriChar                ; unquoted, e.g. urn:ngsi-ld:Device:1
//	Pattern   = String / 1*patternChar              ; Go RE2 syntax
//
// letter and digit are Unicode letters and numbers (clause 4.9 AttrName;
// a leading digit or "_" is tolerated). A Name followed by ":" is a compact
// or expanded IRI (schema:name,
// https://uri.etsi.org/ngsi-ld/default-context/temperature): iriChar is any
// visible character but ;|()[]{}"<>=!~,\^` so an IRI's dots belong to it
// and a sub-attribute of an expanded name cannot be addressed (a compound
// key after it can). scheme is an ASCII letter followed by letters, digits,
// "+", "-" or "."; uriChar is any visible character but ;|(),"<>{}\^`.
// Beyond clause 4.9, URIs may also appear in lists, and compound keys may
// be written [k1][k2] as well as [k1.k2]. Values and operators in Term are
// checked: booleans and URIs only with == and !=, ranges only of numbers,
// strings, dateTimes/dates or times, lower bound first.
// An unquoted Pattern does not start with '"' and runs up to the first
// ";", "|" or ")" outside a group "(...)", a class "[...]" and a \Q...\E
// quote of the pattern, and must end outside all three; quote patterns
// that break this ("x|y", "a;b").

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of ParseQ. They bound the work one request can cause; a query
// beyond them is refused with a *QError naming the limit.
const (
	// MaxQLen is the longest q accepted, in bytes.
	MaxQLen = 4096
	// MaxQDepth is the deepest nesting of parentheses accepted.
	MaxQDepth = 32
	// MaxQTerms is the most query terms accepted in one q.
	MaxQTerms = 256
)

// QError reports why a q value was refused. The HTTP layer answers it as
// an NGSI-LD BadRequestData / InvalidRequest problem with Error() as detail.
type QError struct {
	// Pos is the 0-based byte offset in q where the rule was broken.
	Pos int
	// Msg names the rule broken.
	Msg string
}

// Error returns e.g. `q: position 7: expected a value after "==", found end of query`.
func (e *QError) Error() string { return fmt.Sprintf("q: position %d: %s", e.Pos, e.Msg) }

// Getter resolves an attribute path to its target value. path[0] is the
// attribute name and path[1:] the sub-attribute names of a dotted path
// (LAeq.unitCode, temperature.observedAt); a Getter may fall back to the
// members of a JSON object value when no sub-attribute has that name.
// Compound keys (address[city]) never reach the Getter: Match looks them
// up in the map[string]any the Getter returns.
//
// The value is the Property's value, the Relationship's object (a URI
// string, or []any of them), a LanguageProperty's languageMap, or the
// sub-attribute's value, as float64, string, bool, time.Time, []any or
// map[string]any (other integer and float types and json.Number are
// accepted as numbers; anything else matches no comparison). ok is false
// when the element is absent. A Getter must not modify or retain path.
type Getter func(path []string) (value any, ok bool)

// Q is a parsed NGSI-LD query. It is immutable and safe for concurrent use.
type Q struct {
	root  *qnode
	canon string
	attrs []string
}

// ParseQ parses an NGSI-LD query (ETSI GS CIM 009 clause 4.9) that the
// caller has already percent-decoded. Every error is a *QError. Regular
// expressions are compiled here, once.
func ParseQ(s string) (*Q, error) {
	if len(s) > MaxQLen {
		return nil, &QError{Pos: MaxQLen, Msg: fmt.Sprintf("query is longer than the limit of %d bytes", MaxQLen)}
	}
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, &QError{Pos: i, Msg: "query is not valid UTF-8"}
	}
	if s == "" {
		return nil, &QError{Pos: 0, Msg: "empty query: expected an attribute name or \"(\""}
	}
	p := &qParser{s: s}
	root, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(s) {
		if s[p.i] == ')' {
			return nil, p.errf(p.i, "unbalanced \")\": no \"(\" to close")
		}
		return nil, p.unexpected(p.i, "expected \";\", \"|\" or end of query")
	}
	q := &Q{root: root}
	var b strings.Builder
	root.write(&b)
	q.canon = b.String()
	seen := map[string]bool{}
	root.walk(func(t *qterm) {
		if !seen[t.path[0]] {
			seen[t.path[0]] = true
			q.attrs = append(q.attrs, t.path[0])
		}
	})
	slices.Sort(q.attrs)
	return q, nil
}

// Match reports whether the entity whose attributes get reads satisfies q.
//
// Semantics (clause 4.9 where it speaks, Orion-LD's where it does not):
//   - A term with an operator is false when the target element is absent.
//   - Numbers compare numerically, strings bytewise (lexically), booleans
//     and URIs by equality only. dateTime and date values compare as
//     instants (a date is midnight UTC): a time.Time value or a string value
//     that parses as an RFC 3339 dateTime or a date compares with a dateTime
//     or date literal, and with a quoted literal that itself parses so. Time
//     literals compare with string values of the same form (hh:mm:ss[.f][Z]).
//   - When the target value's type differs from the literal's, ==, >, >=,
//     <, <= and ~= are false; != is true ("considered unequal", clause
//     4.9); !~= is false (it needs a string).
//   - a==x..y holds when x <= a <= y; a!=x..y when it does not.
//     a==x,y holds when a equals any of the list; a!=x,y when it equals none.
//   - ~= and !~= use Go RE2 and search anywhere in the value (anchor with ^$).
//   - When the target value is an array, ==, >, >=, <, <= and ~= hold when
//     they hold for some element (Orion-LD's behaviour); != and !~= hold
//     when they hold for every element, so a!=x means x is not in the array.
//   - Compound keys (a[k1.k2]) index JSON objects; a missing key or a
//     non-object value means the target element is absent.
func (q *Q) Match(get Getter) bool { return q.root.eval(get) }

// Attrs returns the distinct attribute names (path[0] of every term) the
// query mentions, sorted, so the caller knows which attributes to load.
// The caller owns the returned slice.
func (q *Q) Attrs() []string { return slices.Clone(q.attrs) }

// String returns the canonical form of q: redundant parentheses dropped,
// strings re-quoted minimally, compound keys as [k1.k2], patterns unquoted
// where that reads back the same. ParseQ(q.String()) yields a Q with the
// same String and the same Match results; the canonical form is never
// longer than the text q was parsed from.
func (q *Q) String() string { return q.canon }

// --- syntax tree ---

type qNodeKind uint8

const (
	qNodeTerm qNodeKind = iota
	qNodeAnd
	qNodeOr
)

type qnode struct {
	kind qNodeKind
	kids []*qnode // nodeAnd, nodeOr: two or more, none of the same kind
	term *qterm   // nodeTerm
}

type qOperator uint8

const (
	qOpExists qOperator = iota
	qOpEq
	qOpNe
	qOpGt
	qOpGe
	qOpLt
	qOpLe
	qOpMatch
	qOpNotMatch
)

var qOpText = [...]string{qOpEq: "==", qOpNe: "!=", qOpGt: ">", qOpGe: ">=", qOpLt: "<", qOpLe: "<=", qOpMatch: "~=", qOpNotMatch: "!~="}

// negative operators hold on an array when they hold for every element.
func (o qOperator) negative() bool { return o == qOpNe || o == qOpNotMatch }

type qValueKind uint8

const (
	qValSingle qValueKind = iota
	qValRange
	qValList
)

type qterm struct {
	absent bool     // "!" Attribute
	path   []string // attribute name and sub-attribute names
	keys   []string // compound keys
	op     qOperator
	vkind  qValueKind
	lits   []qLiteral // valSingle: 1, valRange: lo, hi, valList: 2 or more
	re     *regexp.Regexp
}

type qLitKind uint8

const (
	qLitNumber qLitKind = iota
	qLitString
	qLitBool
	qLitInstant // dateTime or date
	qLitTime    // time of day
	qLitURI
)

type qLiteral struct {
	kind    qLitKind
	text    string        // canonical text
	num     float64       // litNumber
	str     string        // litString, litURI
	b       bool          // litBool
	t       time.Time     // litInstant; litString when hasTime
	hasTime bool          // litString whose text parses as a dateTime or date
	tod     time.Duration // litTime, since midnight UTC
}

func (n *qnode) walk(f func(*qterm)) {
	if n.kind == qNodeTerm {
		f(n.term)
		return
	}
	for _, k := range n.kids {
		k.walk(f)
	}
}

// --- parser ---

type qParser struct {
	s     string
	i     int
	terms int
}

func (p *qParser) errf(pos int, format string, args ...any) *QError {
	return &QError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// found describes the input at pos for error messages.
func (p *qParser) found(pos int) string {
	if pos >= len(p.s) {
		return "end of query"
	}
	r, _ := utf8.DecodeRuneInString(p.s[pos:])
	return strconv.QuoteRune(r)
}

func (p *qParser) unexpected(pos int, want string) *QError {
	if pos < len(p.s) && qIsSpace(p.s[pos]) {
		return p.errf(pos, "unexpected whitespace: q has none outside quoted strings (a \"+\" in a URL query decodes to a space; send it as %%2B)")
	}
	return p.errf(pos, "%s, found %s", want, p.found(pos))
}

func qIsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *qParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *qParser) parseOr(depth int) (*qnode, error) {
	return p.parseList(depth, qNodeOr, '|')
}

// parseList parses operands separated by sep; OR's operands are ANDs and
// AND's are factors. Same-kind children are flattened.
func (p *qParser) parseList(depth int, kind qNodeKind, sep byte) (*qnode, error) {
	var kids []*qnode
	for {
		var n *qnode
		var err error
		if kind == qNodeOr {
			n, err = p.parseList(depth, qNodeAnd, ';')
		} else {
			n, err = p.parseFactor(depth)
		}
		if err != nil {
			return nil, err
		}
		if n.kind == kind {
			kids = append(kids, n.kids...)
		} else {
			kids = append(kids, n)
		}
		if p.peek() != sep {
			break
		}
		p.i++
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &qnode{kind: kind, kids: kids}, nil
}

func (p *qParser) parseFactor(depth int) (*qnode, error) {
	if p.peek() != '(' {
		return p.parseTerm()
	}
	open := p.i
	if depth+1 > MaxQDepth {
		return nil, p.errf(open, "parentheses nested deeper than the limit of %d", MaxQDepth)
	}
	p.i++
	n, err := p.parseOr(depth + 1)
	if err != nil {
		return nil, err
	}
	if p.peek() != ')' {
		return nil, p.unexpected(p.i, fmt.Sprintf("expected \")\" to close the \"(\" at position %d", open))
	}
	p.i++
	return n, nil
}

// after names the token before pos, for "expected X after Y" messages.
func (p *qParser) after(pos int) string {
	if pos == 0 {
		return ""
	}
	return fmt.Sprintf(" after %q", p.s[pos-1:pos])
}

func (p *qParser) parseTerm() (*qnode, error) {
	start := p.i
	p.terms++
	if p.terms > MaxQTerms {
		return nil, p.errf(start, "more than the limit of %d query terms", MaxQTerms)
	}
	t := &qterm{}
	if p.peek() == '!' {
		t.absent = true
		p.i++
	}
	if err := p.parseAttribute(t); err != nil {
		return nil, err
	}
	n := &qnode{kind: qNodeTerm, term: t}
	opPos := p.i
	op, ok := p.parseOperator()
	if !ok {
		// An existence term: the next token must end it.
		if p.atTermEnd() {
			return n, nil
		}
		switch p.s[p.i] {
		case '=':
			return nil, p.errf(p.i, "unknown operator \"=\": use \"==\"")
		case '!':
			return nil, p.errf(p.i, "unknown operator: \"!\" must be followed by \"=\" or \"~=\"")
		case '~':
			return nil, p.errf(p.i, "unknown operator: \"~\" must be followed by \"=\"")
		case '{':
			return nil, p.errf(p.i, "linked-entity paths (attr{...}) are not supported")
		}
		return nil, p.unexpected(p.i, "expected an operator (== != > >= < <= ~= !~=), \";\", \"|\", \")\" or end of query after the attribute")
	}
	if t.absent {
		return nil, p.errf(opPos, "\"!\" before an attribute tests that it is absent and cannot be combined with an operator")
	}
	t.op = op
	if op == qOpMatch || op == qOpNotMatch {
		return n, p.parsePattern(t)
	}
	return n, p.parseValue(t)
}

func (p *qParser) parseOperator() (qOperator, bool) {
	rest := p.s[p.i:]
	for _, c := range []struct {
		text string
		op   qOperator
	}{{"==", qOpEq}, {"!~=", qOpNotMatch}, {"!=", qOpNe}, {"~=", qOpMatch}, {">=", qOpGe}, {">", qOpGt}, {"<=", qOpLe}, {"<", qOpLt}} {
		if strings.HasPrefix(rest, c.text) {
			p.i += len(c.text)
			return c.op, true
		}
	}
	return 0, false
}

// parseAttribute parses Name *("." Name) *("[" Name *("." Name) "]").
func (p *qParser) parseAttribute(t *qterm) error {
	for {
		name, iri, err := p.parseName()
		if err != nil {
			return err
		}
		t.path = append(t.path, name)
		if iri || p.peek() != '.' {
			break
		}
		p.i++
	}
	for p.peek() == '[' {
		open := p.i
		p.i++
		for {
			name, iri, err := p.parseName()
			if err != nil {
				return err
			}
			t.keys = append(t.keys, name)
			if iri || p.peek() != '.' {
				break
			}
			p.i++
		}
		if p.peek() != ']' {
			return p.unexpected(p.i, fmt.Sprintf("expected \"]\" to close the \"[\" at position %d", open))
		}
		p.i++
	}
	return nil
}

func qIsNameRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// qIsIRIRune reports whether r may appear in an IRI inside an attribute path.
func qIsIRIRune(r rune) bool {
	if r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) {
		return false
	}
	return !strings.ContainsRune(";|()[]{}\"<>=!~,\\^`", r)
}

// qIsURIRune reports whether r may appear in an unquoted URI value.
func qIsURIRune(r rune) bool {
	if r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) {
		return false
	}
	return !strings.ContainsRune(";|(),\"<>{}\\^`", r)
}

// parseName parses one Name; iri reports that it took the IRI form, whose
// dots belong to the name.
func (p *qParser) parseName() (name string, iri bool, err error) {
	start := p.i
	p.i = qScanRunes(p.s, p.i, qIsNameRune)
	if p.i == start {
		var what string
		switch {
		case start > 0 && (p.s[start-1] == '.' || p.s[start-1] == '['):
			what = "expected a name" + p.after(start)
		case start > 0 && p.s[start-1] == '!':
			what = "expected an attribute name after \"!\""
		default:
			what = "expected an attribute name or \"(\"" + p.after(start)
		}
		return "", false, p.unexpected(start, what)
	}
	if p.peek() != ':' {
		return p.s[start:p.i], false, nil
	}
	p.i++
	rest := p.i
	p.i = qScanRunes(p.s, p.i, qIsIRIRune)
	if p.i == rest {
		return "", false, p.unexpected(p.i, "expected the rest of an IRI after \":\"")
	}
	return p.s[start:p.i], true, nil
}

// qScanRunes returns the offset of the first rune at or after i not in f.
func qScanRunes(s string, i int, f func(rune) bool) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !f(r) {
			break
		}
		i += n
	}
	return i
}

// parsePattern parses the regular expression after ~= or !~=.
func (p *qParser) parsePattern(t *qterm) error {
	start := p.i
	var pat string
	clean := true
	if p.peek() == '"' {
		s, err := p.parseString()
		if err != nil {
			return err
		}
		pat = s
	} else {
		var end int
		end, clean = qScanPattern(p.s, p.i)
		if end == p.i {
			return p.unexpected(p.i, fmt.Sprintf("expected a regular expression after %q", qOpText[t.op]))
		}
		pat = p.s[p.i:end]
		p.i = end
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return p.errf(start, "invalid regular expression: %v", err)
	}
	if !clean {
		// Valid RE2 (an unterminated \Q) that no terminator could follow.
		return p.errf(start, "unquoted regular expression ends inside a \\Q quote, a group or a class: put it in double quotes")
	}
	t.re = re
	return p.endOfTerm()
}

// qScanPattern returns where an unquoted pattern starting at i ends: at the
// first ";", "|" or ")" outside a group, a class and a \Q...\E quote, or at
// the end of s. clean reports that the scan ended outside all of them, so
// the pattern can be followed by a terminator and read back the same. Its
// lookahead never passes a terminator, so a pattern that scans clean on its
// own scans the same when a terminator follows it.
func qScanPattern(s string, i int) (end int, clean bool) {
	depth := 0
	inClass := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == 'Q':
			j := strings.Index(s[i+2:], `\E`)
			if j < 0 {
				return len(s), false
			}
			i += 2 + j + 1
		case c == '\\':
			i++ // the escaped byte; continuation bytes of a rune are never special
			if i >= len(s) {
				return len(s), false
			}
		case inClass:
			if c == '[' {
				i += qPosixClassLen(s[i:]) // [:alpha:] holds a "]" that does not close
			} else if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if i+1 < len(s) && s[i+1] == '^' {
				i++
			}
			if i+1 < len(s) && s[i+1] == ']' {
				i++ // a leading "]" is literal
			}
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return i, true
			}
			depth--
		case (c == ';' || c == '|') && depth == 0:
			return i, true
		}
	}
	return len(s), depth == 0 && !inClass
}

// qPosixClassLen returns len-1 of the [:name:] or [:^name:] at the start of
// s, or 0 when there is none.
func qPosixClassLen(s string) int {
	if !strings.HasPrefix(s, "[:") {
		return 0
	}
	j := 2
	if j < len(s) && s[j] == '^' {
		j++
	}
	k := j
	for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z') {
		k++
	}
	if k == j || !strings.HasPrefix(s[k:], ":]") {
		return 0
	}
	return k + 1
}

// parseString parses a JSON string at p.i.
func (p *qParser) parseString() (string, error) {
	start := p.i
	i := start + 1
	for ; i < len(p.s); i++ {
		if p.s[i] == '\\' {
			i++
			continue
		}
		if p.s[i] == '"' {
			break
		}
	}
	if i >= len(p.s) {
		return "", p.errf(start, "unterminated string: no closing '\"'")
	}
	var out string
	if err := json.Unmarshal([]byte(p.s[start:i+1]), &out); err != nil {
		return "", p.errf(start, "invalid string: %v (strings follow JSON, RFC 8259 §7)", err)
	}
	p.i = i + 1
	return out, nil
}

// atTermEnd reports whether a term may end at p.i.
func (p *qParser) atTermEnd() bool {
	return p.i >= len(p.s) || p.s[p.i] == ';' || p.s[p.i] == '|' || p.s[p.i] == ')'
}

// endOfTerm checks that the term ends at p.i.
func (p *qParser) endOfTerm() error {
	if p.atTermEnd() {
		return nil
	}
	return p.unexpected(p.i, "expected \";\", \"|\", \")\" or end of query after the value")
}

// parseValue parses the value after a comparison operator.
func (p *qParser) parseValue(t *qterm) error {
	ordering := t.op != qOpEq && t.op != qOpNe
	firstPos := p.i
	first, err := p.parseLiteral(fmt.Sprintf("%q", qOpText[t.op]))
	if err != nil {
		return err
	}
	t.lits = []qLiteral{first}
	switch {
	case strings.HasPrefix(p.s[p.i:], ".."):
		dots := p.i
		if ordering {
			return p.errf(dots, "a range (a..b) is only valid with == or !=, not %q", qOpText[t.op])
		}
		p.i += 2
		hiPos := p.i
		hi, err := p.parseLiteral(`".."`)
		if err != nil {
			return err
		}
		if !qComparableKind(first) || !qComparableKind(hi) {
			return p.errf(firstPos, "range bounds must be numbers, strings, dateTimes, dates or times")
		}
		c, ok := qCompareLits(first, hi)
		if !ok {
			return p.errf(hiPos, "range bounds must be of the same type")
		}
		if c > 0 {
			return p.errf(firstPos, "range lower bound %s is greater than upper bound %s", first.text, hi.text)
		}
		t.vkind = qValRange
		t.lits = append(t.lits, hi)
		if strings.HasPrefix(p.s[p.i:], "..") || p.peek() == ',' {
			return p.errf(p.i, "a range has exactly two bounds and cannot be part of a list")
		}
	case p.peek() == ',':
		if ordering {
			return p.errf(p.i, "a list (a,b) is only valid with == or !=, not %q", qOpText[t.op])
		}
		t.vkind = qValList
		for p.peek() == ',' {
			p.i++
			l, err := p.parseLiteral(`","`)
			if err != nil {
				return err
			}
			t.lits = append(t.lits, l)
		}
		if strings.HasPrefix(p.s[p.i:], "..") {
			return p.errf(p.i, "a list cannot contain a range")
		}
	default:
		if ordering && !qComparableKind(first) {
			return p.errf(firstPos, "operator %q needs a number, string, dateTime, date or time, not %s", qOpText[t.op], first.kindName())
		}
	}
	return p.endOfTerm()
}

func qComparableKind(l qLiteral) bool { return l.kind != qLitBool && l.kind != qLitURI }

func (l qLiteral) kindName() string {
	switch l.kind {
	case qLitBool:
		return "a boolean"
	case qLitURI:
		return "a URI"
	}
	return "a value"
}

// parseLiteral parses one Value at p.i; after names the token before it,
// for messages.
func (p *qParser) parseLiteral(after string) (qLiteral, error) {
	s, pos := p.s, p.i
	if p.atTermEnd() || s[pos] == ',' || strings.HasPrefix(s[pos:], "..") {
		return qLiteral{}, p.unexpected(pos, "expected a value after "+after)
	}
	c := s[pos]
	switch {
	case c == '"':
		str, err := p.parseString()
		if err != nil {
			return qLiteral{}, err
		}
		l := qLiteral{kind: qLitString, str: str, text: qQuoteJSON(str)}
		if t, ok := qParseInstant(str); ok {
			l.t, l.hasTime = t, true
		}
		return l, nil
	case qIsDigit(c) && len(s) > pos+4 && s[pos+4] == '-' && qAllDigits(s[pos:pos+4]):
		return p.parseDate()
	case qIsDigit(c) && len(s) > pos+2 && s[pos+2] == ':' && qAllDigits(s[pos:pos+2]):
		return p.parseTimeLit()
	case c == '-' || qIsDigit(c):
		return p.parseNumber()
	}
	if qIsAlnum(c) {
		end := pos
		for end < len(s) && (qIsAlnum(s[end]) || s[end] == '+' || s[end] == '-' || s[end] == '.') {
			end++
		}
		if end < len(s) && s[end] == ':' {
			uend := qScanRunes(s, end+1, qIsURIRune)
			if uend == end+1 {
				return qLiteral{}, p.unexpected(uend, "expected the rest of a URI after \":\"")
			}
			p.i = uend
			return qLiteral{kind: qLitURI, str: s[pos:uend], text: s[pos:uend]}, nil
		}
	}
	if word := s[pos:qScanRunes(s, pos, qIsNameRune)]; word != "" {
		if word == "true" || word == "false" {
			p.i = pos + len(word)
			return qLiteral{kind: qLitBool, b: word == "true", text: word}, nil
		}
		return qLiteral{}, p.errf(pos, "unquoted text %q: string values must be double-quoted, e.g. %s", word, qQuoteJSON(word))
	}
	return qLiteral{}, p.unexpected(pos, "expected a value (number, \"string\", true, false, dateTime, date, time or URI) after "+after)
}

func qIsDigit(c byte) bool { return c >= '0' && c <= '9' }

func qIsAlnum(c byte) bool { return qIsDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func qAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !qIsDigit(s[i]) {
			return false
		}
	}
	return true
}

// qDigits returns the end of the run of digits starting at i.
func qDigits(s string, i int) int {
	for i < len(s) && qIsDigit(s[i]) {
		i++
	}
	return i
}

// parseNumber parses a JSON number (RFC 8259 §6).
func (p *qParser) parseNumber() (qLiteral, error) {
	s, pos := p.s, p.i
	i := pos
	if s[i] == '-' {
		i++
	}
	intStart := i
	i = qDigits(s, i)
	switch {
	case i == intStart:
		return qLiteral{}, p.unexpected(i, "expected digits in the number")
	case s[intStart] == '0' && i-intStart > 1:
		return qLiteral{}, p.errf(pos, "number %s has a leading zero (JSON numbers do not); quote it if it is a string", s[pos:i])
	}
	if i < len(s) && s[i] == '.' && !strings.HasPrefix(s[i:], "..") {
		i++
		j := qDigits(s, i)
		if j == i {
			return qLiteral{}, p.unexpected(i, "expected digits after the decimal point")
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := qDigits(s, i)
		if j == i {
			return qLiteral{}, p.unexpected(i, "expected digits in the exponent")
		}
		i = j
	}
	text := s[pos:i]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return qLiteral{}, p.errf(pos, "number %s is out of range", text)
	}
	p.i = i
	return qLiteral{kind: qLitNumber, num: f, text: text}, nil
}

// parseDate parses a Date or a DateTime at p.i (clause 4.6.3).
func (p *qParser) parseDate() (qLiteral, error) {
	s, pos := p.s, p.i
	i := pos
	if !qShape(s, i, "dddd-dd-dd") {
		return qLiteral{}, p.errf(pos, "malformed date: expected YYYY-MM-DD")
	}
	i += 10
	if i < len(s) && s[i] == 'T' {
		i++
		end, ok := qScanClock(s, i)
		if !ok {
			return qLiteral{}, p.errf(pos, "malformed dateTime: expected YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)")
		}
		i = end
		switch {
		case i < len(s) && s[i] == 'Z':
			i++
		case i < len(s) && (s[i] == '+' || s[i] == '-') && qShape(s, i+1, "dd:dd"):
			i += 6
		default:
			return qLiteral{}, p.unexpected(i, "dateTime needs a time zone, Z or ±hh:mm")
		}
		text := s[pos:i]
		t, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return qLiteral{}, p.errf(pos, "invalid dateTime %s: %v", text, qTrimParseErr(err))
		}
		p.i = i
		return qLiteral{kind: qLitInstant, t: t, text: text}, nil
	}
	text := s[pos:i]
	t, err := time.Parse(time.DateOnly, text)
	if err != nil {
		return qLiteral{}, p.errf(pos, "invalid date %s: %v", text, qTrimParseErr(err))
	}
	p.i = i
	return qLiteral{kind: qLitInstant, t: t, text: text}, nil
}

// parseTimeLit parses a Time at p.i (clause 4.6.3).
func (p *qParser) parseTimeLit() (qLiteral, error) {
	pos := p.i
	end, ok := qScanClock(p.s, pos)
	if !ok {
		return qLiteral{}, p.errf(pos, "malformed time: expected hh:mm:ss[.fff][Z]")
	}
	if end < len(p.s) && p.s[end] == 'Z' {
		end++
	}
	text := p.s[pos:end]
	d, ok := qParseTimeOfDay(text)
	if !ok {
		return qLiteral{}, p.errf(pos, "invalid time %s: hours must be below 24, minutes and seconds below 60", text)
	}
	p.i = end
	return qLiteral{kind: qLitTime, tod: d, text: text}, nil
}

func qTrimParseErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// qShape reports whether s[i:] starts with pattern, where 'd' is a digit.
func qShape(s string, i int, pattern string) bool {
	if len(s)-i < len(pattern) {
		return false
	}
	for k := 0; k < len(pattern); k++ {
		c := s[i+k]
		if pattern[k] == 'd' {
			if !qIsDigit(c) {
				return false
			}
		} else if c != pattern[k] {
			return false
		}
	}
	return true
}

// qScanClock scans hh:mm:ss[.digits] at i.
func qScanClock(s string, i int) (int, bool) {
	if !qShape(s, i, "dd:dd:dd") {
		return i, false
	}
	i += 8
	if i+1 < len(s) && s[i] == '.' && qIsDigit(s[i+1]) {
		i = qDigits(s, i+1)
	}
	return i, true
}

// qParseTimeOfDay parses hh:mm:ss[.digits][Z] exactly.
func qParseTimeOfDay(s string) (time.Duration, bool) {
	end, ok := qScanClock(s, 0)
	if !ok {
		return 0, false
	}
	rest := s[end:]
	if rest != "" && rest != "Z" {
		return 0, false
	}
	h, _ := strconv.Atoi(s[0:2])
	m, _ := strconv.Atoi(s[3:5])
	sec, _ := strconv.Atoi(s[6:8])
	if h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
	if end > 8 {
		frac := s[9:end]
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, _ := strconv.Atoi(frac)
		for k := len(frac); k < 9; k++ {
			n *= 10
		}
		d += time.Duration(n)
	}
	return d, true
}

// qParseInstant parses an RFC 3339 dateTime or a date (as midnight UTC).
func qParseInstant(s string) (time.Time, bool) {
	if len(s) == 10 {
		t, err := time.Parse(time.DateOnly, s)
		return t, err == nil
	}
	if len(s) < 20 || s[10] != 'T' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// qQuoteJSON quotes s as a JSON string, escaping only what JSON requires, so
// the result is never longer than any JSON text that decodes to s.
func qQuoteJSON(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// --- canonical form ---

func (n *qnode) write(b *strings.Builder) {
	switch n.kind {
	case qNodeTerm:
		n.term.write(b)
	case qNodeAnd, qNodeOr:
		sep := byte('|')
		if n.kind == qNodeAnd {
			sep = ';'
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteByte(sep)
			}
			if n.kind == qNodeAnd && k.kind == qNodeOr {
				b.WriteByte('(')
				k.write(b)
				b.WriteByte(')')
			} else {
				k.write(b)
			}
		}
	}
}

func (t *qterm) write(b *strings.Builder) {
	if t.absent {
		b.WriteByte('!')
	}
	b.WriteString(strings.Join(t.path, "."))
	if len(t.keys) > 0 {
		// [k1.k2] is the clause 4.9 form; an IRI key swallows the dots after
		// it, so keys following one get brackets of their own.
		b.WriteByte('[')
		for i, k := range t.keys {
			if i > 0 {
				if strings.ContainsRune(t.keys[i-1], ':') {
					b.WriteString("][")
				} else {
					b.WriteByte('.')
				}
			}
			b.WriteString(k)
		}
		b.WriteByte(']')
	}
	if t.op == qOpExists {
		return
	}
	b.WriteString(qOpText[t.op])
	if t.re != nil {
		pat := t.re.String()
		if end, clean := qScanPattern(pat, 0); pat != "" && pat[0] != '"' && end == len(pat) && clean {
			b.WriteString(pat)
		} else {
			b.WriteString(qQuoteJSON(pat))
		}
		return
	}
	sep := ","
	if t.vkind == qValRange {
		sep = ".."
	}
	for i, l := range t.lits {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(l.text)
	}
}

// --- evaluation ---

func (n *qnode) eval(get Getter) bool {
	switch n.kind {
	case qNodeAnd:
		for _, k := range n.kids {
			if !k.eval(get) {
				return false
			}
		}
		return true
	case qNodeOr:
		for _, k := range n.kids {
			if k.eval(get) {
				return true
			}
		}
		return false
	}
	return n.term.eval(get)
}

func (t *qterm) eval(get Getter) bool {
	v, ok := get(t.path[:len(t.path):len(t.path)])
	for _, k := range t.keys {
		if !ok {
			break
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			ok = false
			break
		}
		v, ok = m[k]
	}
	if t.op == qOpExists {
		return ok != t.absent
	}
	if !ok {
		return false
	}
	if arr, isArr := v.([]any); isArr {
		if t.op.negative() {
			for _, e := range arr {
				if !t.test(e) {
					return false
				}
			}
			return true
		}
		for _, e := range arr {
			if t.test(e) {
				return true
			}
		}
		return false
	}
	return t.test(v)
}

// test applies the term's operator to one scalar target value.
func (t *qterm) test(v any) bool {
	switch t.op {
	case qOpMatch, qOpNotMatch:
		s, ok := v.(string)
		return ok && t.re.MatchString(s) == (t.op == qOpMatch)
	case qOpEq:
		return t.equal(v)
	case qOpNe:
		return !t.equal(v)
	}
	c, ok := qCompareTarget(v, t.lits[0])
	if !ok {
		return false
	}
	switch t.op {
	case qOpGt:
		return c > 0
	case qOpGe:
		return c >= 0
	case qOpLt:
		return c < 0
	case qOpLe:
		return c <= 0
	}
	return false
}

// equal reports whether v equals the single value, lies in the range or
// equals a member of the list.
func (t *qterm) equal(v any) bool {
	switch t.vkind {
	case qValRange:
		lo, ok1 := qCompareTarget(v, t.lits[0])
		hi, ok2 := qCompareTarget(v, t.lits[1])
		return ok1 && ok2 && lo >= 0 && hi <= 0
	default:
		for _, l := range t.lits {
			if c, ok := qCompareTarget(v, l); ok && c == 0 {
				return true
			}
		}
		return false
	}
}

// qScalar normalizes a target value to float64, string, bool or time.Time.
func qScalar(v any) (any, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x)
	case string, bool, time.Time:
		return x, true
	case float32:
		return float64(x), !math.IsNaN(float64(x))
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && !math.IsNaN(f)
	}
	return nil, false
}

// qCompareTarget compares a target value with a literal; ok is false when
// their types do not compare.
func qCompareTarget(v any, l qLiteral) (int, bool) {
	v, ok := qScalar(v)
	if !ok {
		return 0, false
	}
	switch l.kind {
	case qLitNumber:
		if f, ok := v.(float64); ok {
			return cmp.Compare(f, l.num), true
		}
	case qLitString:
		switch x := v.(type) {
		case string:
			if l.hasTime {
				if t, ok := qParseInstant(x); ok {
					return t.Compare(l.t), true
				}
			}
			return strings.Compare(x, l.str), true
		case time.Time:
			if l.hasTime {
				return x.Compare(l.t), true
			}
		}
	case qLitURI:
		if s, ok := v.(string); ok {
			return strings.Compare(s, l.str), true
		}
	case qLitBool:
		if b, ok := v.(bool); ok {
			if b == l.b {
				return 0, true
			}
			return 1, true
		}
	case qLitInstant:
		switch x := v.(type) {
		case time.Time:
			return x.Compare(l.t), true
		case string:
			if t, ok := qParseInstant(x); ok {
				return t.Compare(l.t), true
			}
		}
	case qLitTime:
		if s, ok := v.(string); ok {
			if d, ok := qParseTimeOfDay(s); ok {
				return cmp.Compare(d, l.tod), true
			}
		}
	}
	return 0, false
}

// qCompareLits orders two range bounds; ok is false when their types differ.
func qCompareLits(a, b qLiteral) (int, bool) {
	switch {
	case a.kind == qLitNumber && b.kind == qLitNumber:
		return cmp.Compare(a.num, b.num), true
	case a.kind == qLitInstant && b.kind == qLitInstant:
		return a.t.Compare(b.t), true
	case a.kind == qLitTime && b.kind == qLitTime:
		return cmp.Compare(a.tod, b.tod), true
	case a.kind == qLitString && b.kind == qLitString:
		if a.hasTime && b.hasTime {
			return a.t.Compare(b.t), true
		}
		return strings.Compare(a.str, b.str), true
	}
	return 0, false
}
