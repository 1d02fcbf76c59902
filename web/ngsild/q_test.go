package ngsild_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citytwin/citytwin/web/ngsild"
)

// qParseCases parse; canon is the expected String() ("" means the input).
var qParseCases = []struct {
	in, canon string
	attrs     []string
}{
	{in: "temperature", attrs: []string{"temperature"}},
	{in: "!temperature", attrs: []string{"temperature"}},
	{in: "a==1|b==2;c==3", attrs: []string{"a", "b", "c"}},
	{in: "(a==1|b==2);c==3"},
	{in: "((a==1))", canon: "a==1"},
	{in: "(a==1;b==2)|c==3", canon: "a==1;b==2|c==3"},
	{in: "a;(b;c)", canon: "a;b;c"},
	{in: "a|(b|c)", canon: "a|b|c"},
	{in: "((speed>50|rpm>3000);brandName==\"Mercedes\")", canon: "(speed>50|rpm>3000);brandName==\"Mercedes\""},
	{in: "(temperature>=20;temperature<=25)|capacity<=10", canon: "temperature>=20;temperature<=25|capacity<=10", attrs: []string{"capacity", "temperature"}},
	{in: "LAeq.unitCode==\"2N\"", attrs: []string{"LAeq"}},
	{in: "temperature.observedAt>=2017-12-24T12:00:00Z"},
	{in: "address[city]==\"Berlin\"", attrs: []string{"address"}},
	{in: "sensor.rawdata[airquality.particulate]==40"},
	{in: "a[b][c]==1", canon: "a[b.c]==1"},
	{in: "a==1..5"},
	{in: "a==-1.5e3..2E+2"},
	{in: "a!=0..0.5"},
	{in: "a==1,2,3"},
	{in: "a==\"x\",\"y\",true,urn:ngsi-ld:X:1"},
	{in: "a==\"a\"..\"m\""},
	{in: "a==true"},
	{in: "a!=false"},
	{in: "refDevice==urn:ngsi-ld:Device:noise-1"},
	{in: "a==https://example.org/p?x=1&y=2#f"},
	{in: "a==2026-11-22T10:00:00Z"},
	{in: "a==2026-11-22T10:00:00.123+01:00"},
	{in: "a>=2026-11-22"},
	{in: "a==2026-11-22..2026-11-22T12:00:00Z"},
	{in: "a<10:00:00Z"},
	{in: "a==08:00:00..17:30:00.5Z"},
	{in: `name=="\u0041\/\"q\"\\"`, canon: `name=="A/\"q\"\\"`},
	{in: "a~=^x.*$"},
	{in: `a~="^(a|b)$"`, canon: "a~=^(a|b)$"},
	{in: `a~="x;y"`},
	{in: `a~="\"quoted"`},
	{in: "a~=(a|b)", canon: "a~=(a|b)"},
	{in: "a!~=[;)]"},
	{in: "(a~=x|b~=[[:alpha:]]);c"},
	{in: "(a~=x|b~=[[:alpha:]];c)", canon: "a~=x|b~=[[:alpha:]];c"},
	{in: `a~=\Q(;|)\E`},
	{in: `a~="x|y"`},
	{in: "a~=(?i)^Sensor b c"},
	{in: "https://uri.etsi.org/ngsi-ld/default-context/temperature>20", attrs: []string{"https://uri.etsi.org/ngsi-ld/default-context/temperature"}},
	{in: "schema:name==\"x\"", attrs: []string{"schema:name"}},
	{in: "a[https://x.org/k][b]==1"},
	{in: "a[b.https://x.org/k]"},
	{in: "température>20;名前==\"x\"", attrs: []string{"température", "名前"}},
	{in: "b;a;b.c;!a[x]", attrs: []string{"a", "b"}},
}

func TestParseQ(t *testing.T) {
	for _, c := range qParseCases {
		t.Run(c.in, func(t *testing.T) {
			q, err := ngsild.ParseQ(c.in)
			if err != nil {
				t.Fatalf("ParseQ: %v", err)
			}
			want := c.canon
			if want == "" {
				want = c.in
			}
			if got := q.String(); got != want {
				t.Errorf("String() = %s, want %s", got, want)
			}
			q2, err := ngsild.ParseQ(q.String())
			if err != nil {
				t.Fatalf("ParseQ(String()): %v", err)
			}
			if q2.String() != q.String() {
				t.Errorf("round trip: %s became %s", q.String(), q2.String())
			}
			if c.attrs != nil && !slices.Equal(q.Attrs(), c.attrs) {
				t.Errorf("Attrs() = %q, want %q", q.Attrs(), c.attrs)
			}
		})
	}
}

// qErrorCases fail to parse at pos with a message containing msg.
var qErrorCases = []struct {
	in  string
	pos int
	msg string
}{
	{"", 0, "empty query"},
	{"a==", 3, `expected a value after "==", found end of query`},
	{"a!=;b", 3, `expected a value after "!=", found ';'`},
	{"a==1;", 5, `expected an attribute name or "(" after ";", found end of query`},
	{";a", 0, `expected an attribute name or "(", found ';'`},
	{"a|", 2, `expected an attribute name or "(" after "|"`},
	{"a=1", 1, `unknown operator "=": use "=="`},
	{"a==1)", 4, `unbalanced ")"`},
	{"(a==1", 5, `expected ")" to close the "(" at position 0, found end of query`},
	{"()", 1, `expected an attribute name or "(" after "(", found ')'`},
	{"a==Bob", 3, `unquoted text "Bob": string values must be double-quoted, e.g. "Bob"`},
	{"a==null", 3, `unquoted text "null"`},
	{`a=="abc`, 3, "unterminated string"},
	{`a=="\x"`, 3, "invalid string"},
	{"a>true", 2, `operator ">" needs a number, string, dateTime, date or time, not a boolean`},
	{"a>urn:x:y", 2, "not a URI"},
	{"a>1..5", 3, `a range (a..b) is only valid with == or !=, not ">"`},
	{"a<1,2", 3, `a list (a,b) is only valid with == or !=, not "<"`},
	{"a==5..1", 3, "range lower bound 5 is greater than upper bound 1"},
	{`a==1.."x"`, 6, "range bounds must be of the same type"},
	{"a==true..false", 3, "range bounds must be numbers, strings, dateTimes, dates or times"},
	{"a==1..", 6, `expected a value after "..", found end of query`},
	{"a==1,", 5, `expected a value after ",", found end of query`},
	{"a==1..2..3", 7, "a range has exactly two bounds"},
	{"a==1..2,3", 7, "a range has exactly two bounds"},
	{"a==1,2..3", 6, "a list cannot contain a range"},
	{"a==01", 3, "number 01 has a leading zero"},
	{"a==1.", 5, "expected digits after the decimal point"},
	{"a==1e", 5, "expected digits in the exponent"},
	{"a==1e999", 3, "number 1e999 is out of range"},
	{"a==-", 4, "expected digits in the number"},
	{"a==.5", 3, "expected a value (number"},
	{"a==2026-13-01", 3, "invalid date 2026-13-01: month out of range"},
	{"a==2026-1-01", 3, "malformed date"},
	{"a==2026-11-22T10:00:00", 22, "dateTime needs a time zone, Z or ±hh:mm"},
	{"a==2026-11-22T10:00", 3, "malformed dateTime"},
	{"a==2026-02-30T10:00:00Z", 3, "invalid dateTime 2026-02-30T10:00:00Z: day out of range"},
	{"a==25:00:00Z", 3, "invalid time 25:00:00Z"},
	{"a==10:00", 3, "malformed time"},
	{"a~=", 3, `expected a regular expression after "~="`},
	{"a!~=;b", 4, `expected a regular expression after "!~="`},
	{"a~=(", 3, "invalid regular expression: error parsing regexp: missing closing )"},
	{`a~=x\Q(`, 3, `unquoted regular expression ends inside a \Q quote, a group or a class: put it in double quotes`},
	{`a~="[z-a]"`, 3, "invalid regular expression"},
	{`a~="x"y`, 6, `expected ";", "|", ")" or end of query after the value`},
	{"!a==1", 2, `"!" before an attribute tests that it is absent and cannot be combined with an operator`},
	{"!!a", 1, `expected an attribute name after "!"`},
	{"a ==1", 1, "unexpected whitespace"},
	{"a== 1", 3, "unexpected whitespace"},
	{"a==2026-11-22T10:00:00 01:00", 22, "%2B"},
	{"a.==1", 2, `expected a name after "."`},
	{"a[b==1", 3, `expected "]" to close the "[" at position 1`},
	{"a[]", 2, `expected a name after "["`},
	{"a{b}==1", 1, "linked-entity paths (attr{...}) are not supported"},
	{"a==1b", 4, `expected ";", "|", ")" or end of query after the value, found 'b'`},
	{"a!1", 1, `"!" must be followed by "=" or "~="`},
	{"a~1", 1, `"~" must be followed by "="`},
	{"a#", 1, "expected an operator"},
	{"a:==1", 2, `expected the rest of an IRI after ":"`},
	{"a==urn:", 7, `expected the rest of a URI after ":"`},
	{"a==\"\xff\"", 4, "query is not valid UTF-8"},
	{strings.Repeat("a", ngsild.MaxQLen+1), ngsild.MaxQLen, "query is longer than the limit of 4096 bytes"},
	{strings.Repeat("(", 33) + "a" + strings.Repeat(")", 33), 32, "parentheses nested deeper than the limit of 32"},
	{strings.Repeat("a;", 256) + "a", 512, "more than the limit of 256 query terms"},
}

func TestParseQErrors(t *testing.T) {
	for _, c := range qErrorCases {
		name := c.in
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		t.Run(name, func(t *testing.T) {
			q, err := ngsild.ParseQ(c.in)
			if err == nil {
				t.Fatalf("ParseQ succeeded: %s", q)
			}
			var qe *ngsild.QError
			if !errors.As(err, &qe) {
				t.Fatalf("error %T is not a *QError: %v", err, err)
			}
			prefix := fmt.Sprintf("q: position %d: ", c.pos)
			if qe.Pos != c.pos || !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q: want position %d", err, c.pos)
			}
			if !strings.Contains(qe.Msg, c.msg) {
				t.Errorf("error %q does not name the rule %q", err, c.msg)
			}
		})
	}
}

func TestParseQLimitsAccepted(t *testing.T) {
	for name, s := range map[string]string{
		"depth":  strings.Repeat("(", ngsild.MaxQDepth) + "a" + strings.Repeat(")", ngsild.MaxQDepth),
		"terms":  strings.Repeat("a;", ngsild.MaxQTerms-1) + "a",
		"length": "a==\"" + strings.Repeat("x", ngsild.MaxQLen-5) + "\"",
	} {
		if _, err := ngsild.ParseQ(s); err != nil {
			t.Errorf("%s at the limit: %v", name, err)
		}
	}
}

// mapGetter reads attributes from m, keyed by the dotted path.
func mapGetter(m map[string]any) ngsild.Getter {
	return func(path []string) (any, bool) {
		v, ok := m[strings.Join(path, ".")]
		return v, ok
	}
}

var qEntity = map[string]any{
	"temperature":                 21.5,
	"temperature.unitCode":        "CEL",
	"temperature.observedAt":      time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
	"LAeq":                        64.0,
	"LAeq.unitCode":               "2N",
	"name":                        `Sensor "A"`,
	"status":                      "working",
	"enabled":                     true,
	"count":                       3,
	"refDevice":                   "urn:ngsi-ld:Device:1",
	"tags":                        []any{"noise", "traffic"},
	"levels":                      []any{40.0, 55.0, 70.0},
	"address":                     map[string]any{"city": "Berlin", "geo": map[string]any{"zone": "A"}},
	"dateIssued":                  "2026-11-22T09:30:00+01:00",
	"day":                         "2026-11-22",
	"opens":                       "08:30:00Z",
	"empty":                       []any{},
	"nothing":                     nil,
	"odd":                         struct{}{},
	"nan":                         math.NaN(),
	"https://example.org/ns/pm10": 12.0,
}

// qEvalCases evaluate q against ent (qEntity when nil).
var qEvalCases = []struct {
	q    string
	ent  map[string]any
	want bool
}{
	// Existence and absence.
	{q: "temperature", want: true},
	{q: "missing", want: false},
	{q: "!missing", want: true},
	{q: "!temperature", want: false},
	{q: "nothing", want: true},
	{q: "address[city]", want: true},
	{q: "address[zip]", want: false},
	{q: "!address[zip]", want: true},
	{q: "temperature[x]", want: false},
	{q: "LAeq.observedAt", want: false},
	// Numbers, every operator.
	{q: "temperature==21.5", want: true},
	{q: "temperature==2.15e1", want: true},
	{q: "temperature!=21.5", want: false},
	{q: "temperature!=21", want: true},
	{q: "temperature>21", want: true},
	{q: "temperature>21.5", want: false},
	{q: "temperature>=21.5", want: true},
	{q: "temperature<21.5", want: false},
	{q: "temperature<22", want: true},
	{q: "temperature<=21.5", want: true},
	{q: "temperature<=21.4", want: false},
	{q: "LAeq>=-1e2", want: true},
	{q: "count==3", want: true},
	{q: "count>2.5", want: true},
	{q: "https://example.org/ns/pm10<20", want: true},
	// Strings, booleans, URIs.
	{q: `status=="working"`, want: true},
	{q: `status!="working"`, want: false},
	{q: `status>"a"`, want: true},
	{q: `status<"b"`, want: false},
	{q: `status>="working"`, want: true},
	{q: `name=="Sensor \"A\""`, want: true},
	{q: "enabled==true", want: true},
	{q: "enabled==false", want: false},
	{q: "enabled!=false", want: true},
	{q: "refDevice==urn:ngsi-ld:Device:1", want: true},
	{q: `refDevice=="urn:ngsi-ld:Device:1"`, want: true},
	{q: "refDevice!=urn:ngsi-ld:Device:2", want: true},
	{q: "refDevice==urn:ngsi-ld:Device:2,urn:ngsi-ld:Device:1", want: true},
	// Regular expressions.
	{q: "status~=^work", want: true},
	{q: `status~="ing$"`, want: true},
	{q: "status~=^ing", want: false},
	{q: "status!~=^work", want: false},
	{q: "status!~=xyz", want: true},
	{q: "name~=(?i)^sensor", want: true},
	{q: "temperature~=2", want: false},
	{q: "temperature!~=2", want: false},
	{q: "tags~=^traf", want: true},
	{q: "tags!~=^traf", want: false},
	{q: "tags!~=^zzz", want: true},
	{q: "address[city]~=^Ber", want: true},
	// Ranges.
	{q: "temperature==20..22", want: true},
	{q: "temperature==21.5..30", want: true},
	{q: "temperature==10..21.5", want: true},
	{q: "temperature==10..21.4", want: false},
	{q: "temperature!=10..20", want: true},
	{q: "temperature!=20..22", want: false},
	{q: `status=="a".."x"`, want: true},
	{q: `status=="x".."z"`, want: false},
	{q: `status!="x".."z"`, want: true},
	{q: "dateIssued==2026-11-22T08:00:00Z..2026-11-22T09:00:00Z", want: true},
	{q: "temperature.observedAt==2026-11-22..2026-11-23", want: true},
	{q: "temperature.observedAt!=2026-11-22..2026-11-23", want: false},
	{q: "opens==08:00:00..09:00:00Z", want: true},
	// Lists.
	{q: `status=="off","working"`, want: true},
	{q: `status!="off","working"`, want: false},
	{q: `status!="off","broken"`, want: true},
	{q: "temperature==1,2,21.5", want: true},
	{q: `temperature==1,"21.5",true`, want: false},
	// Arrays: positive operators on any element, negated ones on every.
	{q: `tags=="noise"`, want: true},
	{q: `tags!="noise"`, want: false},
	{q: `tags!="rain"`, want: true},
	{q: `tags=="rain","traffic"`, want: true},
	{q: `tags!="rain","traffic"`, want: false},
	{q: "levels>60", want: true},
	{q: "levels>80", want: false},
	{q: "levels<=40", want: true},
	{q: "levels==50..60", want: true},
	{q: "levels!=50..60", want: false},
	{q: "levels!=80..90", want: true},
	{q: `empty=="x"`, want: false},
	{q: `empty!="x"`, want: true},
	// Dates and times.
	{q: "temperature.observedAt>2026-11-22T09:00:00Z", want: true},
	{q: "temperature.observedAt==2026-11-22T11:00:00+01:00", want: true},
	{q: "temperature.observedAt<2026-11-22", want: false},
	{q: "temperature.observedAt>=2026-11-22", want: true},
	{q: `temperature.observedAt>="2026-11-22T10:00:00Z"`, want: true},
	{q: `temperature.observedAt=="2026-11-22T10:00:00.000Z"`, want: true},
	{q: "dateIssued<2026-11-22T09:00:00Z", want: true},
	{q: `dateIssued=="2026-11-22T08:30:00Z"`, want: true},
	{q: "day==2026-11-22", want: true},
	{q: "day<2026-11-23", want: true},
	{q: "opens<09:00:00Z", want: true},
	{q: "opens==08:30:00", want: true},
	{q: "opens>08:30:00.5Z", want: false},
	// Sub-attributes and compound values.
	{q: `LAeq.unitCode=="2N"`, want: true},
	{q: `temperature.unitCode=="CEL";temperature>20`, want: true},
	{q: `address[city]=="Berlin"`, want: true},
	{q: `address[geo.zone]=="A"`, want: true},
	{q: `address[geo][zone]=="A"`, want: true},
	{q: `address[city.x]`, want: false},
	// Mismatched types: false, except != which holds (clause 4.9).
	{q: "status>5", want: false},
	{q: "status==5", want: false},
	{q: "status!=5", want: true},
	{q: `temperature=="21.5"`, want: false},
	{q: `temperature!="21.5"`, want: true},
	{q: `enabled>"a"`, want: false},
	{q: "enabled==1", want: false},
	{q: "odd==1", want: false},
	{q: "odd!=1", want: true},
	{q: "nan==1", want: false},
	{q: "nan>0", want: false},
	{q: "nothing==1", want: false},
	{q: "address==1", want: false},
	{q: `address~=x`, want: false},
	{q: "opens>2026-11-22", want: false},
	{q: "temperature.observedAt==08:00:00Z", want: false},
	{q: "status==2026-11-22", want: false},
	{q: "missing!=1", want: false},
	{q: "missing!~=x", want: false},
	// Precedence: AND binds tighter than OR.
	{q: "a==1|b==2;c==3", ent: map[string]any{"a": 1.0, "b": 0.0, "c": 0.0}, want: true},
	{q: "a==1|b==2;c==3", ent: map[string]any{"a": 0.0, "b": 2.0, "c": 0.0}, want: false},
	{q: "a==1|b==2;c==3", ent: map[string]any{"a": 0.0, "b": 2.0, "c": 3.0}, want: true},
	{q: "b==2;c==3|a==1", ent: map[string]any{"a": 1.0, "b": 0.0, "c": 0.0}, want: true},
	{q: "(a==1|b==2);c==3", ent: map[string]any{"a": 1.0, "b": 0.0, "c": 0.0}, want: false},
	{q: "(a==1|b==2);c==3", ent: map[string]any{"a": 1.0, "b": 0.0, "c": 3.0}, want: true},
	{q: "((temperature>50|LAeq>60);status==\"working\")", want: true},
	{q: "(temperature>=20;temperature<=25)|capacity<=10", want: true},
	{q: "(temperature>=30;temperature<=35)|capacity<=10", want: false},
	{q: "((((a))));!b", ent: map[string]any{"a": 1.0}, want: true},
}

func TestQMatch(t *testing.T) {
	for _, c := range qEvalCases {
		ent := c.ent
		if ent == nil {
			ent = qEntity
		}
		q, err := ngsild.ParseQ(c.q)
		if err != nil {
			t.Errorf("ParseQ(%s): %v", c.q, err)
			continue
		}
		if got := q.Match(mapGetter(ent)); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.q, got, c.want)
		}
		// The canonical form means the same.
		q2, err := ngsild.ParseQ(q.String())
		if err != nil {
			t.Errorf("ParseQ(%s): %v", q.String(), err)
			continue
		}
		if got := q2.Match(mapGetter(ent)); got != c.want {
			t.Errorf("%s (canonical %s): Match = %v, want %v", c.q, q.String(), got, c.want)
		}
	}
}

func TestQGetterSeesAttributePathOnly(t *testing.T) {
	q, err := ngsild.ParseQ(`sensor.rawdata[airquality.particulate]==40`)
	if err != nil {
		t.Fatal(err)
	}
	var paths [][]string
	ok := q.Match(func(path []string) (any, bool) {
		paths = append(paths, slices.Clone(path))
		return map[string]any{"airquality": map[string]any{"particulate": 40.0}}, true
	})
	if !ok {
		t.Error("Match = false, want true")
	}
	if want := [][]string{{"sensor", "rawdata"}}; !slices.EqualFunc(paths, want, slices.Equal) {
		t.Errorf("getter saw %q, want %q", paths, want)
	}
}

func TestQShortCircuit(t *testing.T) {
	q, err := ngsild.ParseQ("a|b;c")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	q.Match(func(path []string) (any, bool) {
		seen = append(seen, path[0])
		return nil, path[0] == "a"
	})
	if !slices.Equal(seen, []string{"a"}) {
		t.Errorf("getter called for %q, want only a", seen)
	}
}

func TestQConcurrentMatch(t *testing.T) {
	q, err := ngsild.ParseQ(`status~=^work;temperature==20..22|tags=="noise"`)
	if err != nil {
		t.Fatal(err)
	}
	get := mapGetter(qEntity)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if !q.Match(get) {
					t.Error("Match = false, want true")
					return
				}
				_ = q.String()
				_ = q.Attrs()
			}
		})
	}
	wg.Wait()
}

func TestQAttrsIsACopy(t *testing.T) {
	q, err := ngsild.ParseQ("b;a")
	if err != nil {
		t.Fatal(err)
	}
	a := q.Attrs()
	a[0] = "x"
	if got := q.Attrs(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Attrs() = %q after the caller changed its copy", got)
	}
}
