package web

// The tests in this file keep docs/openapi.yaml true to the code: every
// route the server registers is documented with its method and every
// documented operation is served (route matching is the real ServeMux's);
// every $ref resolves; the planner's JSON types (Result, Spec, Analysis,
// Saved, Summary, Comparison) match their schemas field by field and type by
// type, by reflection; and real answers (the noise map of domain.md §4,
// layers, alert rules, ui-config, readiness, problems) validate against
// their schemas, with no undocumented member.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/citytwin/citytwin/geo"
	"github.com/citytwin/citytwin/planner"
	"github.com/citytwin/citytwin/twin"
	"github.com/citytwin/citytwin/twin/dynamap"
	"github.com/citytwin/citytwin/web/ngsild"
	"github.com/citytwin/citytwin/web/provision"
)

// oaPath is the document, relative to this package's directory.
const oaPath = "../docs/openapi.yaml"

// oaMethods are the operation keys of a path item (OpenAPI 3.1 §4.8.9).
var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oaLoad reads the document; every mapping key must be a string (a YAML
// integer key such as an unquoted 200 is not valid OpenAPI).
func oaLoad(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(oaPath)
	if err != nil {
		t.Fatalf("read the OpenAPI document: %v", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s is not valid YAML: %v", oaPath, err)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, at+"/"+k)
			}
		case map[any]any:
			t.Errorf("%s: a mapping with a non-string key (quote response codes such as '200')", at)
		case []any:
			for i, c := range x {
				walk(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "#")
	return doc
}

// oaGet follows a JSON pointer ("#/components/schemas/Result").
func oaGet(doc map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// oaDeref resolves a chain of $ref; name is the last component's name.
func oaDeref(t *testing.T, doc map[string]any, node any) (m map[string]any, name string) {
	t.Helper()
	for range 10 {
		m, _ = node.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, name
		}
		target, ok := oaGet(doc, ref)
		if !ok {
			t.Fatalf("$ref %q does not resolve", ref)
		}
		node, name = target, ref[strings.LastIndexByte(ref, '/')+1:]
	}
	t.Fatalf("$ref chain too long at %v", node)
	return nil, ""
}

func oaMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// oaTypes returns a schema's type keyword as a list.
func oaTypes(s map[string]any) []string {
	switch x := s["type"].(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, v := range x {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func TestOpenAPIDocument(t *testing.T) {
	doc := oaLoad(t)
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info := oaMap(doc["info"])
	if info["title"] != "citytwin" || info["version"] != "1" {
		t.Errorf("info title %v version %v, want citytwin and \"1\"", info["title"], info["version"])
	}
	if srv, _ := doc["servers"].([]any); len(srv) == 0 || oaMap(srv[0])["url"] != "http://127.0.0.1:8080" {
		t.Errorf("servers = %v, want http://127.0.0.1:8080 first", doc["servers"])
	}

	// Every $ref resolves, and every schema is used.
	used := map[string]bool{}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				if _, ok := oaGet(doc, ref); !ok {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
				used[ref] = true
			}
			for k, c := range x {
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range x {
				walk(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "#")
	for name := range oaMap(oaMap(doc["components"])["schemas"]) {
		if !used["#/components/schemas/"+name] {
			t.Errorf("schema %s is never referenced", name)
		}
	}

	// The schemas the planner, noise map and errors are documented with.
	for _, name := range []string{"Spec", "Window", "Area", "TrafficSpec", "AirSpec", "NoiseSpec", "IrrigationSpec",
		"PolicySpec", "Result", "TrafficResult", "RoadResult", "SensorResult", "AreaResult", "NoiseFigures", "NO2Figures",
		"Exceedance", "IrrigationResult", "GreenAreaResult", "PolicyResult", "ScheduleEntry", "WeatherDay", "Timing",
		"Analysis", "AnalysisRow", "Saved", "Summary", "Comparison", "CompareRow", "Problem", "NoiseMap"} {
		if _, ok := oaGet(doc, "#/components/schemas/"+name); !ok {
			t.Errorf("components/schemas/%s is missing", name)
		}
	}
	for _, p := range []string{"field", "rule"} {
		if _, ok := oaGet(doc, "#/components/schemas/Problem/properties/"+p); !ok {
			t.Errorf("Problem has no %s property", p)
		}
	}

	// Operations: unique ids, declared tags and security schemes, responses,
	// and path parameters exactly those of the template.
	tags := map[string]bool{}
	for _, tg := range asList(doc["tags"]) {
		if name, _ := oaMap(tg)["name"].(string); name != "" {
			tags[name] = true
		}
	}
	schemes := oaMap(oaMap(doc["components"])["securitySchemes"])
	ids := map[string]string{}
	tmpl := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range oaMap(doc["paths"]) {
		pi := oaMap(item)
		for _, m := range oaMethods {
			op := oaMap(pi[m])
			if op == nil {
				continue
			}
			at := strings.ToUpper(m) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", at)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("%s: operationId %s already used by %s", at, id, prev)
			}
			ids[id] = at
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s: no summary", at)
			}
			if len(asList(op["tags"])) == 0 {
				t.Errorf("%s: no tags", at)
			}
			for _, tg := range asList(op["tags"]) {
				if name, _ := tg.(string); !tags[name] {
					t.Errorf("%s: tag %v is not declared", at, tg)
				}
			}
			if len(oaMap(op["responses"])) == 0 {
				t.Errorf("%s: no responses", at)
			}
			for code := range oaMap(op["responses"]) {
				if !regexp.MustCompile(`^[1-5]\d\d$`).MatchString(code) {
					t.Errorf("%s: response code %q", at, code)
				}
			}
			if sec, ok := op["security"].([]any); ok {
				for _, req := range sec {
					for name := range oaMap(req) {
						if _, ok := schemes[name]; !ok {
							t.Errorf("%s: security scheme %q is not defined", at, name)
						}
					}
				}
			}
			inPath := map[string]bool{}
			params := append(append([]any{}, asList(pi["parameters"])...), asList(op["parameters"])...)
			seen := map[string]bool{}
			for _, p := range params {
				pm, _ := oaDeref(t, doc, p)
				name, _ := pm["name"].(string)
				in, _ := pm["in"].(string)
				if !slices.Contains([]string{"query", "header", "path", "cookie"}, in) || name == "" {
					t.Errorf("%s: parameter %v has no name or a bad in", at, pm)
					continue
				}
				if seen[in+" "+name] {
					t.Errorf("%s: parameter %s %s given twice", at, in, name)
				}
				seen[in+" "+name] = true
				if pm["schema"] == nil {
					t.Errorf("%s: parameter %s has no schema", at, name)
				}
				if d, _ := pm["description"].(string); d == "" {
					t.Errorf("%s: parameter %s has no description", at, name)
				}
				if in == "path" {
					inPath[name] = true
					if pm["required"] != true {
						t.Errorf("%s: path parameter %s must be required", at, name)
					}
				}
			}
			for _, mt := range tmpl.FindAllStringSubmatch(path, -1) {
				if !inPath[mt[1]] {
					t.Errorf("%s: path parameter {%s} is not declared", at, mt[1])
				}
				delete(inPath, mt[1])
			}
			for name := range inPath {
				t.Errorf("%s: path parameter %s is not in the path", at, name)
			}
		}
	}

	// The scenario body is JSON or YAML, and its examples are valid
	// scenarios (planner.ParseSpec, then Validate: all but the city's ids).
	content := oaMap(oaMap(oaMap(oaMap(doc["components"])["requestBodies"])["Spec"])["content"])
	for _, mt := range []string{"application/json", "application/yaml"} {
		if content[mt] == nil {
			t.Errorf("the Spec request body has no %s", mt)
		}
		examples := oaMap(oaMap(content[mt])["examples"])
		if len(examples) == 0 {
			t.Errorf("the Spec request body has no %s example", mt)
		}
		for name, ex := range examples {
			var body []byte
			switch v := oaMap(ex)["value"].(type) {
			case string:
				body = []byte(v)
			default:
				var err error
				if body, err = json.Marshal(v); err != nil {
					t.Fatalf("example %s: %v", name, err)
				}
			}
			if mt == "application/yaml" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
				t.Errorf("example %s: a YAML example should be block YAML, not JSON", name)
			}
			spec, err := planner.ParseSpec(body)
			if err == nil {
				err = spec.Validate()
			}
			if err != nil {
				t.Errorf("%s example %s is not a valid scenario: %v", mt, name, err)
			}
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// --- routes

// oaRecorder records the patterns a Register method adds.
type oaRecorder []string

func (r *oaRecorder) Handle(pattern string, _ http.Handler) { *r = append(*r, pattern) }

// oaDynamic are the functions allowed to register computed patterns, and
// where the test gets those patterns instead: provision's loop by
// recording its Register, the UI's root files from web/ui/public.
var oaDynamic = map[string]bool{"provision/api.go (API).Register": true, "ui.go (UI).Register": true}

// oaSourceRoutes parses the non-test Go files of dir and returns the
// literal patterns passed to Handle and HandleFunc. A pattern built at run
// time outside oaDynamic fails the test: it could not be checked.
func oaSourceRoutes(t *testing.T, files ...string) []string {
	t.Helper()
	var out []string
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			fn := fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				rt := fd.Recv.List[0].Type
				if st, ok := rt.(*ast.StarExpr); ok {
					rt = st.X
				}
				if id, ok := rt.(*ast.Ident); ok {
					fn = "(" + id.Name + ")." + fn
				}
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 2 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc" {
					return true
				}
				switch a := call.Args[0].(type) {
				case *ast.BasicLit:
					if a.Kind == token.STRING {
						p, err := strconv.Unquote(a.Value)
						if err != nil {
							t.Fatalf("%s: %v", fset.Position(a.Pos()), err)
						}
						out = append(out, p)
					}
				case *ast.BinaryExpr:
					key := strings.TrimPrefix(filepath.ToSlash(file), "./") + " " + fn
					if !oaDynamic[key] {
						t.Errorf("%s: a route pattern computed at run time in %s; add it to oaDynamic and say where the test gets it", fset.Position(a.Pos()), key)
					}
				}
				return true
			})
		}
	}
	return out
}

func oaGoFiles(t *testing.T, dir string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if !strings.HasSuffix(f, "_test.go") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return out
}

// oaSplit splits a ServeMux pattern into its method (GET for none) and its
// path as OpenAPI writes it; prefix reports a subtree pattern ("/assets/").
func oaSplit(pattern string) (method, path string, prefix bool) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "GET", pattern
	}
	path = strings.TrimSpace(path)
	if strings.HasSuffix(path, "{$}") {
		return method, strings.TrimSuffix(path, "{$}"), false
	}
	path = regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(path, "{$1}")
	return method, path, strings.HasSuffix(path, "/")
}

// oaPublicFiles are the files Vite copies to the root of the build.
func oaPublicFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("ui/public")
	if err != nil {
		t.Fatalf("read web/ui/public: %v", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && validRootName(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// oaServer is a real Server with every component's routes, as serve
// registers them (routes only: the components' handlers are not called).
func oaServer(t *testing.T, extra []string) *Server {
	t.Helper()
	s := New(Config{Pprof: true}, prometheus.NewRegistry(), nil, nil)
	ui := fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}, "assets/app.js": {Data: []byte("0")}}
	for _, f := range oaPublicFiles(t) {
		ui[f] = &fstest.MapFile{Data: []byte("x")}
	}
	(&Layers{}).Register(s)
	(&ngsild.Handler{}).Register(s)
	(&AlertsAPI{}).Register(s)
	(&UI{Assets: ui}).Register(s)
	(&Replay{}).Register(s)
	(&NoiseMap{}).Register(s)
	(&PlannerAPI{}).Register(s)
	(&provision.API{}).Register(s)
	for _, p := range extra {
		s.Handle(p, http.NotFoundHandler())
	}
	return s
}

func TestOpenAPIRoutes(t *testing.T) {
	doc := oaLoad(t)
	paths := oaMap(doc["paths"])

	// The routes in the sources: web (server, layers, alerts, planner, noise
	// map, replay, UI), web/ngsild, web/provision, and serve's own (/ws).
	web := oaSourceRoutes(t, append(append(oaGoFiles(t, "."), oaGoFiles(t, "ngsild")...), oaGoFiles(t, "provision")...)...)
	cmd := oaSourceRoutes(t, "../cmd/citytwin/serve.go")
	if !slices.Contains(cmd, "GET /ws") {
		t.Errorf("serve.go does not register GET /ws any more: %v", cmd)
	}
	var ng, pv oaRecorder
	(&ngsild.Handler{}).Register(&ng)
	(&provision.API{}).Register(&pv)
	code := slices.Concat(web, cmd, ng, pv)
	for _, f := range oaPublicFiles(t) {
		code = append(code, "GET /"+f)
	}
	slices.Sort(code) // the parse and the recorders see ngsild's and provision's literal routes twice
	code = slices.Compact(code)
	if len(code) < 40 {
		t.Fatalf("only %d routes found in the sources: %v", len(code), code)
	}
	s := oaServer(t, cmd)

	// Each route found is registered on the real server as written (so the
	// parse above reads what runs), and documented with its method.
	for _, p := range code {
		method, path, prefix := oaSplit(p)
		target := regexp.MustCompile(`\{\w+\}`).ReplaceAllString(path, "p1")
		if prefix {
			target += "p1"
		}
		if _, got := s.mux.Handler(httptest.NewRequest(method, target, nil)); got != p {
			t.Errorf("route %q: the server answers %s %s with pattern %q", p, method, target, got)
		}
		m := strings.ToLower(method)
		documented := oaMap(paths[path])[m] != nil
		if prefix && !documented {
			for dp, item := range paths {
				if rest, ok := strings.CutPrefix(dp, path); ok && regexp.MustCompile(`^\{\w+\}$`).MatchString(rest) && oaMap(item)[m] != nil {
					documented = true
				}
			}
		}
		if !documented {
			t.Errorf("route %q is not in %s (want paths[%q].%s)", p, oaPath, path, m)
		}
	}

	// Each documented operation is served by one of those routes, with its
	// method.
	n := 0
	for path, item := range paths {
		for _, m := range oaMethods {
			if oaMap(item)[m] == nil {
				continue
			}
			n++
			target := regexp.MustCompile(`\{\w+\}`).ReplaceAllString(path, "p1")
			_, got := s.mux.Handler(httptest.NewRequest(strings.ToUpper(m), target, nil))
			if got == "" || !slices.Contains(code, got) {
				t.Errorf("%s %s is documented but the server has no route for it (pattern %q)", strings.ToUpper(m), path, got)
				continue
			}
			if gm, _, _ := oaSplit(got); gm != strings.ToUpper(m) {
				t.Errorf("%s %s is documented but served by %q", strings.ToUpper(m), path, got)
			}
		}
	}
	t.Logf("%d routes in the code, %d operations documented", len(code), n)
}

// --- planner JSON types, by reflection

// oaInput lists the scenario's input types: their schemas' required lists
// name what a client must send, not what Go always writes.
var oaInput = map[reflect.Type]bool{
	reflect.TypeFor[planner.Spec](): true, reflect.TypeFor[planner.Window](): true, reflect.TypeFor[planner.Area](): true,
	reflect.TypeFor[planner.TrafficSpec](): true, reflect.TypeFor[planner.AirSpec](): true, reflect.TypeFor[planner.NoiseSpec](): true,
	reflect.TypeFor[planner.IrrigationSpec](): true, reflect.TypeFor[planner.PolicySpec](): true,
}

// oaField is one JSON member of a struct.
type oaField struct {
	name string
	typ  reflect.Type
	omit bool // omitempty or omitzero
}

// oaFields lists a struct's JSON members as encoding/json writes them
// (exported, not "-", embedded structs flattened).
func oaFields(t reflect.Type) []oaField {
	var out []oaField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, oaFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero")
		out = append(out, oaField{name, f.Type, omit})
	}
	return out
}

// oaNullable reports whether a value of typ that is not omitted is null in
// practice: a pointer to a scalar (the planner's "no value", e.g. Lden
// without hours). Pointers to structs are always set where they are not
// omitted (Saved.Result), and an interface may hold anything.
func oaNullable(typ reflect.Type) bool {
	return typ.Kind() == reflect.Pointer && typ.Elem().Kind() != reflect.Struct
}

// oaCheckType checks schema (a node of doc) against the Go type typ as
// encoding/json writes it; nullable says the value may be null (a pointer
// or an interface that is not omitted). Errors name the JSON path at.
func oaCheckType(t *testing.T, doc map[string]any, schema any, typ reflect.Type, at string, nullable bool) {
	t.Helper()
	s, ref := oaDeref(t, doc, schema)
	if s == nil {
		t.Errorf("%s: no schema", at)
		return
	}
	types := oaTypes(s)
	want := func(jt string) {
		if len(types) == 0 {
			t.Errorf("%s: schema has no type, want %s (Go %s)", at, jt, typ)
		} else if !slices.Contains(types, jt) {
			t.Errorf("%s: schema type %v, want %s (Go %s)", at, types, jt, typ)
		}
		if nullable && !slices.Contains(types, "null") {
			t.Errorf("%s: Go *%s can be null but the schema type %v has no \"null\"", at, typ, types)
		}
	}
	if typ.Kind() == reflect.Pointer {
		oaCheckType(t, doc, schema, typ.Elem(), at, nullable)
		return
	}
	switch {
	case typ == reflect.TypeFor[time.Time]():
		want("string")
		if s["format"] != "date-time" {
			t.Errorf("%s: a time, want format date-time, got %v", at, s["format"])
		}
		return
	case typ.Kind() == reflect.Interface:
		return // any JSON value
	}
	switch typ.Kind() {
	case reflect.String:
		want("string")
	case reflect.Bool:
		want("boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want("integer")
	case reflect.Float32, reflect.Float64:
		want("number")
	case reflect.Slice, reflect.Array:
		want("array")
		if typ.Kind() == reflect.Array {
			if s["minItems"] != typ.Len() || s["maxItems"] != typ.Len() {
				t.Errorf("%s: Go [%d] array, want minItems and maxItems %d, got %v and %v", at, typ.Len(), typ.Len(), s["minItems"], s["maxItems"])
			}
		}
		items, ok := s["items"]
		if !ok {
			t.Errorf("%s: array without items", at)
			return
		}
		oaCheckType(t, doc, items, typ.Elem(), at+"[]", oaNullable(typ.Elem()))
	case reflect.Map:
		want("object")
		ap, ok := s["additionalProperties"]
		if !ok || ap == false {
			t.Errorf("%s: a Go map, want additionalProperties", at)
			return
		}
		if ap != true {
			oaCheckType(t, doc, ap, typ.Elem(), at+".*", oaNullable(typ.Elem()))
		}
	case reflect.Struct:
		want("object")
		if ref != typ.Name() {
			t.Errorf("%s: Go %s is documented by %q, want a $ref to components/schemas/%s", at, typ, ref, typ.Name())
		}
		props := oaMap(s["properties"])
		var required []string
		for _, r := range asList(s["required"]) {
			required = append(required, r.(string))
		}
		fields := oaFields(typ)
		names := map[string]bool{}
		for _, f := range fields {
			names[f.name] = true
			p, ok := props[f.name]
			if !ok {
				t.Errorf("%s: schema %s has no property %q (Go %s.%s)", at, ref, f.name, typ.Name(), f.name)
				continue
			}
			if !oaInput[typ] && !f.omit && !slices.Contains(required, f.name) {
				t.Errorf("%s: %s.%s is always written; list it in %s's required", at, typ.Name(), f.name, ref)
			}
			if !oaInput[typ] && f.omit && slices.Contains(required, f.name) {
				t.Errorf("%s: %s.%s is omitted when empty; it must not be in %s's required", at, typ.Name(), f.name, ref)
			}
			oaCheckType(t, doc, p, f.typ, at+"."+f.name, !f.omit && oaNullable(f.typ))
		}
		for p := range props {
			if !names[p] {
				t.Errorf("%s: schema %s documents %q, which Go %s does not have", at, ref, p, typ)
			}
		}
		for _, r := range required {
			if !names[r] {
				t.Errorf("%s: schema %s requires %q, which Go %s does not have", at, ref, r, typ)
			}
		}
	default:
		t.Errorf("%s: Go %s cannot be checked", at, typ)
	}
}

func TestOpenAPIPlannerSchemas(t *testing.T) {
	doc := oaLoad(t)
	for _, c := range []struct {
		typ    reflect.Type
		schema string
	}{
		{reflect.TypeFor[planner.Result](), "Result"},
		{reflect.TypeFor[planner.Spec](), "Spec"},
		{reflect.TypeFor[planner.Analysis](), "Analysis"},
		{reflect.TypeFor[planner.Saved](), "Saved"},
		{reflect.TypeFor[planner.Summary](), "Summary"},
		{reflect.TypeFor[planner.Comparison](), "Comparison"},
	} {
		t.Run(c.schema, func(t *testing.T) {
			oaCheckType(t, doc, map[string]any{"$ref": "#/components/schemas/" + c.schema}, c.typ, c.schema, false)
		})
	}
}

// --- answers against their schemas

// oaValidate checks a decoded JSON value (numbers as json.Number) against
// a schema. An object whose schema lists properties may hold only those
// unless the schema sets additionalProperties (stricter than JSON Schema:
// the document must be complete); complete also demands every documented
// member.
func oaValidate(t *testing.T, doc map[string]any, schema any, v any, at string, complete bool) {
	t.Helper()
	s, ref := oaDeref(t, doc, schema)
	if s == nil {
		t.Errorf("%s: no schema", at)
		return
	}
	if ref != "" {
		at += " (" + ref + ")"
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf", "not", "if", "patternProperties", "prefixItems"} {
		if _, ok := s[k]; ok {
			t.Fatalf("%s: oaValidate does not implement %s", at, k)
		}
	}
	if types := oaTypes(s); len(types) > 0 && !slices.Contains(types, oaJSONType(v)) &&
		!(oaJSONType(v) == "integer" && slices.Contains(types, "number")) {
		t.Errorf("%s: %s value %v, schema type %v", at, oaJSONType(v), v, types)
		return
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		t.Errorf("%s: %v, want the constant %v", at, v, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
		t.Errorf("%s: %v is not one of %v", at, v, e)
	}
	switch x := v.(type) {
	case string:
		layout := map[any]string{"date-time": time.RFC3339Nano, "date": time.DateOnly}[s["format"]]
		if _, err := time.Parse(layout, x); layout != "" && err != nil {
			t.Errorf("%s: %q is not a %v", at, x, s["format"])
		}
	case []any:
		if n, ok := s["minItems"].(int); ok && len(x) < n {
			t.Errorf("%s: %d items, want at least %d", at, len(x), n)
		}
		if n, ok := s["maxItems"].(int); ok && len(x) > n {
			t.Errorf("%s: %d items, want at most %d", at, len(x), n)
		}
		if items, ok := s["items"]; ok {
			for i, e := range x {
				oaValidate(t, doc, items, e, fmt.Sprintf("%s[%d]", at, i), complete)
			}
		}
	case map[string]any:
		props := oaMap(s["properties"])
		for _, r := range asList(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				t.Errorf("%s: required member %q is missing", at, r)
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := props[k]; ok {
				oaValidate(t, doc, p, x[k], at+"."+k, complete)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case nil, bool:
				if ap == false || ap == nil && props != nil {
					t.Errorf("%s: member %q is not documented", at, k)
				}
			default:
				oaValidate(t, doc, ap, x[k], at+"."+k, complete)
			}
		}
		if complete {
			for p := range props {
				if _, ok := x[p]; !ok {
					t.Errorf("%s: documented member %q did not appear", at, p)
				}
			}
		}
	}
}

func oaJSONType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func oaDecode(t *testing.T, body []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// oaResponse is the schema of an operation's answer.
func oaResponse(t *testing.T, doc map[string]any, path, method, status, mediaType string) any {
	t.Helper()
	op := oaMap(oaMap(oaMap(doc["paths"])[path])[method])
	resp, _ := oaDeref(t, doc, oaMap(op["responses"])[status])
	schema := oaMap(oaMap(resp["content"])[mediaType])["schema"]
	if schema == nil {
		t.Fatalf("%s %s: no %s schema for %s", method, path, mediaType, status)
	}
	return schema
}

// oaLevels is a fixed LevelSource.
type oaLevels map[string]SensorLevel

func (l oaLevels) NoiseLevels(context.Context, string, time.Time) (map[string]SensorLevel, error) {
	return l, nil
}

// oaCity is two parallel 1.1 km roads 400 m apart (a primary one, a
// residential one): two road groups in the noise model.
func oaCity(t *testing.T) *geo.City {
	t.Helper()
	city, _, err := geo.NewCity(map[geo.Kind][]geo.Feature{geo.KindRoad: {
		{ID: "main", Name: "Via Main", RoadClass: "primary", Lanes: 4, SpeedLimit: 50, Geometry: orb.LineString{{9.0, 45.0}, {9.014, 45.0}}},
		{ID: "side", RoadClass: "residential", Geometry: orb.LineString{{9.0, 45.0036}, {9.014, 45.0036}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return city
}

func TestOpenAPIAnswers(t *testing.T) {
	doc := oaLoad(t)
	city := oaCity(t)
	model, err := dynamap.New(dynamap.Config{}, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := New(Config{}, prometheus.NewRegistry(), map[string]Check{"influxdb": func(context.Context) error { return nil }}, nil)
	// Two sensors by the primary road, one by the residential road, one
	// too far from any road (unused).
	(&NoiseMap{Model: model, Now: func() time.Time { return now }, Live: oaLevels{
		"n1":  {Point: orb.Point{9.004, 45.0001}, Road: "main", LAeq: 68},
		"n2":  {Point: orb.Point{9.010, 45.0001}, Road: "main", LAeq: 70},
		"n3":  {Point: orb.Point{9.007, 45.0037}, LAeq: 55},
		"far": {Point: orb.Point{9.007, 45.0018}, LAeq: 50},
	}}).Register(s)
	(&Layers{City: city, State: twin.NewState(city, twin.StateConfig{}), Now: func() time.Time { return now }}).Register(s)
	(&AlertsAPI{Alerts: twin.NewAlerts(twin.AlertConfig{})}).Register(s)
	(&UI{TileURL: "https://tile.example/{z}/{x}/{y}.png", TileAttribution: "© example", ReplayWindow: 30 * time.Minute}).Register(s)
	(&PlannerAPI{}).Register(s)

	get := func(target string) (*httptest.ResponseRecorder, any) {
		t.Helper()
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec, oaDecode(t, rec.Body.Bytes())
	}
	for _, c := range []struct {
		target, path, status, mediaType string
		complete                        bool
	}{
		// The grid has every member (groups, held-out errors, sensors).
		{"/api/v1/noisemap", "/api/v1/noisemap", "200", "application/json", true},
		{"/api/v1/noisemap?format=geojson", "/api/v1/noisemap", "200", "application/geo+json", true},
		{"/api/v1/noisemap?format=png", "/api/v1/noisemap", "400", "application/problem+json", false},
		{"/api/v1/layers", "/api/v1/layers", "200", "application/json", true},
		{"/api/v1/layers/road", "/api/v1/layers/{kind}", "200", "application/geo+json", false},
		{"/api/v1/layers/road/main", "/api/v1/layers/{kind}/{id}", "200", "application/geo+json", false},
		{"/api/v1/layers/river", "/api/v1/layers/{kind}", "404", "application/problem+json", false},
		{"/api/v1/alerts", "/api/v1/alerts", "200", "application/json", false},
		{"/api/v1/alerts/rules", "/api/v1/alerts/rules", "200", "application/json", false},
		{"/api/v1/alerts?limit=0", "/api/v1/alerts", "400", "application/problem+json", false},
		{"/api/v1/ui-config", "/api/v1/ui-config", "200", "application/json", false},
		{"/readyz", "/readyz", "200", "application/json", true},
		// The planner's field problems, answered before any history is read.
		{"/api/v1/analytics/noise?refillVwc=wet", "/api/v1/analytics/{domain}", "400", "application/problem+json", true},
		{"/api/v1/analytics/noise?start=yesterday", "/api/v1/analytics/{domain}", "400", "application/problem+json", true},
		{"/api/v1/analytics/noise?format=xlsx", "/api/v1/analytics/{domain}", "400", "application/problem+json", true},
		{"/api/v1/scenarios/compare?b=x", "/api/v1/scenarios/compare", "400", "application/problem+json", true},
	} {
		t.Run(c.target, func(t *testing.T) {
			rec, body := get(c.target)
			if strconv.Itoa(rec.Code) != c.status {
				t.Fatalf("status %d, want %s: %s", rec.Code, c.status, rec.Body)
			}
			if ct, _, _ := strings.Cut(rec.Header().Get("Content-Type"), ";"); ct != c.mediaType {
				t.Errorf("Content-Type %q, want %s", ct, c.mediaType)
			}
			oaValidate(t, doc, oaResponse(t, doc, c.path, "get", c.status, c.mediaType), body, "body", c.complete)
		})
	}

	// The grid's numbers, hand-checked: 4 sensors, 1 too far from any road
	// (unused), 3 reporting; 2 groups, the primary road's δ from its two
	// sensors. levels has nx·ny cells.
	_, body := get("/api/v1/noisemap")
	g := body.(map[string]any)
	nx, _ := g["nx"].(json.Number).Int64()
	ny, _ := g["ny"].(json.Number).Int64()
	if got := len(g["levels"].([]any)); int64(got) != nx*ny || nx <= 0 {
		t.Errorf("%d levels for %d × %d cells", got, nx, ny)
	}
	sens := g["sensors"].(map[string]any)
	if sens["reporting"] != json.Number("3") || sens["unused"] != json.Number("1") || len(g["groups"].([]any)) != 2 {
		t.Errorf("sensors %v, groups %v: want 3 reporting, 1 unused, 2 groups", sens, g["groups"])
	}

	// Values written by Go types with every member set: an alert and a
	// rule (twin marshals them itself), the UI config.
	night := 55.0
	for _, c := range []struct {
		schema string
		v      any
	}{
		{"Alert", twin.Alert{ID: "a", Rule: "r", Title: "t", Attr: "LAeq", Tenant: "milano", FeatureKind: geo.KindRoad, FeatureID: "main",
			Sensors: []string{"n1"}, SensorCount: 1, Threshold: 65, Value: 67.5, Peak: 68, PeakSensor: "n1", PeakTime: now,
			Start: now, End: now.Add(time.Hour), Silent: true, Window: time.Hour}},
		{"AlertRule", twin.Rule{ID: "r", Title: "t", Domain: twin.DomainNoise, Attr: "LAeq", Window: time.Hour, Energetic: true,
			Below: true, Threshold: 65, NightThreshold: &night, Hysteresis: 2, Scopes: []geo.Kind{geo.KindRoad}, PerFeature: map[string]float64{"main": 60}}},
		{"UIConfig", UIConfig{Tenants: []UITenant{{"milano", 3}}, DefaultTenant: "default", TileURL: "u", TileAttribution: "a", RefillVWC: 0.2, ReplayWindow: "1h0m0s"}},
	} {
		data, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		oaValidate(t, doc, map[string]any{"$ref": "#/components/schemas/" + c.schema}, oaDecode(t, data), c.schema, true)
	}
}
