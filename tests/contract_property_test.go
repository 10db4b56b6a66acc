package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"pgregory.net/rapid"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
)

// TestContractProperty sends every operation of openapi.yaml, generated from its schemas, to a real
// server (real PostgreSQL):
//   - valid requests (every constraint of the schema respected) get a documented success or one of
//     the operation's documented business errors, never a 400;
//   - invalid requests (one constraint broken at a time: a type, a required property, an unknown
//     property, a length, a pattern, an enum, a bound) get 400 invalid_request in the error shape;
//   - every answer validates against its response schema (kin-openapi's openapi3filter), and the
//     generated requests are judged valid / invalid by kin-openapi too, so that the generators
//     cannot drift from the schema.
//
// The operations are read from openapi.yaml: one without a generator below fails the test
// (TestContractPropertyCoversEveryOperation shows it).
func TestContractProperty(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set("20") // each check is a request to a real server; -rapid.checks=N for more
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if missing := missingGenerators(doc); len(missing) > 0 {
		t.Fatalf("operations without a generator (add them to generators): %v", missing)
	}
	w := &world{t: t, s: apptest.Start(t, nil)}
	w.pdg = w.s.PDG(t).Token
	w.user = w.s.Register(t, "Cliente", "Client").Token

	for _, path := range slices.Sorted(maps.Keys(doc.Paths.Map())) {
		item := doc.Paths.Value(path)
		for _, method := range slices.Sorted(maps.Keys(item.Operations())) {
			op := item.Operations()[method]
			route := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
			g := generators[op.OperationID]
			t.Run(op.OperationID, func(t *testing.T) {
				o := &operation{route: route, gen: g}
				t.Run("valid", func(t *testing.T) {
					rapid.Check(t, func(rt *rapid.T) {
						c := w.validCall(rt, o)
						w.check(rt, o, c, false)
					})
				})
				for _, v := range violations(o) {
					t.Run("invalid/"+v.name, func(t *testing.T) {
						rapid.Check(t, func(rt *rapid.T) {
							c := w.validCall(rt, o)
							v.apply(rt, c)
							c.what = v.name
							w.check(rt, o, c, true)
						})
					})
				}
			})
		}
	}
}

// missingGenerators returns the operations of doc that generators does not know ("METHOD path id").
func missingGenerators(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if _, ok := generators[op.OperationID]; !ok {
				out = append(out, method+" "+path+" "+op.OperationID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// A new operation in openapi.yaml fails the contract test until it has a generator.
func TestContractPropertyCoversEveryOperation(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if missing := missingGenerators(doc); len(missing) != 0 {
		t.Fatalf("missing generators: %v", missing)
	}
	doc.AddOperation("/api/new", http.MethodDelete, &openapi3.Operation{OperationID: "deleteSomething", Responses: openapi3.NewResponses()})
	if missing := missingGenerators(doc); !slices.Equal(missing, []string{"DELETE /api/new deleteSomething"}) {
		t.Fatalf("a new operation: missing %v", missing)
	}
}

// opGen is what the schema cannot say about an operation.
type opGen struct {
	// business lists the statuses, besides the documented 2xx, that a valid request may get.
	business []int
	// prepare gives a valid request what its schema cannot express: an id that exists, a cursor the
	// server made, a fresh session, a field equal to another.
	prepare func(rt *rapid.T, w *world, c *request)
}

var generators = map[string]opGen{
	"register": {business: []int{http.StatusConflict}, prepare: func(rt *rapid.T, w *world, c *request) {
		c.body["confirm_password"] = c.body["password"] // "Must equal password"
	}},
	"login": {business: []int{http.StatusUnauthorized}, prepare: func(rt *rapid.T, w *world, c *request) {
		if rapid.Bool().Draw(rt, "known account") {
			email, password := w.account(rt)
			c.body["email"], c.body["password"] = email, password
		}
	}},
	"logout": {prepare: func(rt *rapid.T, w *world, c *request) { _, _, c.token = w.register(rt, "Sortant", "Client") }},
	"getMe":  {},
	"listArtisanRequests": {prepare: func(rt *rapid.T, w *world, c *request) {
		if c.query.Has("cursor") { // opaque: a next_cursor the server gave for the same status and q
			c.query.Del("cursor")
			if next := w.nextCursor(rt, c.query); next != "" {
				c.query.Set("cursor", next)
			}
		}
	}},
	"countArtisanRequests":  {},
	"approveArtisanRequest": {business: []int{http.StatusNotFound, http.StatusConflict}, prepare: pendingID},
	"rejectArtisanRequest":  {business: []int{http.StatusNotFound, http.StatusConflict}, prepare: pendingID},
	"healthz":               {},
	"readyz":                {},
}

// pendingID makes the id of a decision a pending request, most of the time (else the schema's
// random id: 404 or 409).
func pendingID(rt *rapid.T, w *world, c *request) {
	if rapid.IntRange(0, 3).Draw(rt, "existing") > 0 {
		id, _, _ := w.register(rt, "Artisan", "Artisan/Promoteur")
		c.path["id"] = strconv.FormatInt(id, 10)
	}
}

type operation struct {
	route *routers.Route
	gen   opGen
}

func (o *operation) op() *openapi3.Operation { return o.route.Operation }

// bodySchema returns the JSON body schema of the operation, and whether a body is required.
func (o *operation) bodySchema() (*openapi3.Schema, bool) {
	rb := o.op().RequestBody
	if rb == nil || rb.Value == nil {
		return nil, false
	}
	mt := rb.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil, false
	}
	return mt.Schema.Value, rb.Value.Required
}

func (o *operation) params(in string) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	for _, p := range append(slices.Clone(o.route.PathItem.Parameters), o.op().Parameters...) {
		if p.Value != nil && p.Value.In == in {
			out = append(out, p.Value)
		}
	}
	return out
}

// request is one generated request.
type request struct {
	path    map[string]string
	query   url.Values
	body    map[string]any // nil: no JSON object body
	rawBody []byte         // set: sent as is (a body that is not an object)
	noBody  bool
	token   string
	what    string // the broken constraint, for messages
}

type world struct {
	t         *testing.T
	s         *apptest.Server
	pdg, user string
	n         atomic.Int64
}

// account returns the credentials of a new account.
func (w *world) account(rt *rapid.T) (string, string) {
	_, email, _ := w.register(rt, "Connue", "Client")
	return email, apptest.Password
}

// nextCursor asks the list for one request with query's status and q, and returns its next_cursor.
func (w *world) nextCursor(rt *rapid.T, query url.Values) string {
	q := url.Values{"limit": {"1"}}
	for _, k := range []string{"status", "q"} {
		if query.Has(k) {
			q.Set(k, query.Get(k))
		}
	}
	w.register(rt, "Curseur", "Artisan/Promoteur") // so that the pending list has a next page
	w.register(rt, "Curseur", "Artisan/Promoteur")
	res := w.do(rt, http.MethodGet, "/api/notifications/artisan-requests?"+q.Encode(), w.pdg, nil)
	var page struct {
		NextCursor string `json:"next_cursor"`
	}
	_ = json.Unmarshal(res.body, &page)
	return page.NextCursor
}

// validCall generates a request that respects the operation's schema.
func (w *world) validCall(rt *rapid.T, o *operation) *request {
	c := &request{path: map[string]string{}, query: url.Values{}}
	for _, p := range o.params(openapi3.ParameterInPath) {
		c.path[p.Name] = scalarString(validValue(rt, p.Schema.Value, "path "+p.Name))
	}
	for _, p := range o.params(openapi3.ParameterInQuery) {
		if p.Required || rapid.Bool().Draw(rt, "send "+p.Name) {
			c.query.Set(p.Name, scalarString(validValue(rt, p.Schema.Value, "query "+p.Name)))
		}
	}
	if s, required := o.bodySchema(); s != nil {
		if required || rapid.Bool().Draw(rt, "send body") {
			c.body = validValue(rt, s, "body").(map[string]any)
		} else {
			c.noBody = true
		}
	}
	if sec := o.op().Security; sec != nil {
		for _, req := range *sec {
			if scopes, ok := req["bearerAuth"]; ok {
				c.token = w.user
				if slices.Contains(scopes, "pdg") {
					c.token = w.pdg
				}
			}
		}
	}
	if o.gen.prepare != nil {
		o.gen.prepare(rt, w, c)
	}
	return c
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (w *world) do(rt *rapid.T, method, target, token string, body []byte) reply {
	req, err := http.NewRequest(method, w.s.URL+target, bytes.NewReader(body))
	if err != nil {
		rt.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		rt.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		rt.Fatal(err)
	}
	return reply{res.StatusCode, res.Header, b}
}

// check sends c and judges the answer.
func (w *world) check(rt *rapid.T, o *operation, c *request, invalid bool) {
	path := o.route.Path
	for k, v := range c.path {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	target := path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}
	var body []byte
	switch {
	case c.rawBody != nil:
		body = c.rawBody
	case c.body != nil:
		var err error
		if body, err = json.Marshal(c.body); err != nil {
			rt.Fatal(err)
		}
	}
	desc := fmt.Sprintf("%s %s body %s", o.route.Method, target, body)

	// kin-openapi judges the request as we do.
	req, err := http.NewRequest(o.route.Method, "http://localhost"+target, bytes.NewReader(body))
	if err != nil {
		rt.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: c.path, Route: o.route, Options: opts}
	verr := openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case invalid && verr == nil:
		rt.Fatalf("the generator's invalid request (%s) is valid for kin-openapi: %s", c.what, desc)
	case !invalid && verr != nil:
		rt.Fatalf("the generator's valid request is invalid for kin-openapi: %s: %v", desc, verr)
	}

	res := w.do(rt, o.route.Method, target, c.token, body)
	if invalid {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if res.status != http.StatusBadRequest || json.Unmarshal(res.body, &e) != nil || e.Error.Code != "invalid_request" || e.Error.Message == "" {
			rt.Fatalf("%s: %s: got %d %s, want 400 invalid_request", c.what, desc, res.status, res.body)
		}
	} else if !documented(o, res.status) {
		rt.Fatalf("valid request %s: got %d %s, want a 2xx of the operation or one of %v", desc, res.status, res.body, o.gen.business)
	}

	// The answer matches its response schema.
	req.Body = io.NopCloser(bytes.NewReader(body))
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.status, Header: res.header, Options: opts}
	rin.SetBodyBytes(res.body)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		rt.Fatalf("%s: the %d answer %s does not match its schema: %v", desc, res.status, res.body, err)
	}
}

func documented(o *operation, status int) bool {
	if slices.Contains(o.gen.business, status) {
		return true
	}
	return status >= 200 && status < 300 && o.op().Responses.Status(status) != nil
}

// ---------------------------------------------------------------- valid values

// validValue generates a value that satisfies s.
func validValue(rt *rapid.T, s *openapi3.Schema, label string) any {
	switch {
	case len(s.Enum) > 0:
		return rapid.SampledFrom(s.Enum).Draw(rt, label)
	case s.Type.Is("object"):
		out := map[string]any{}
		for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
			if slices.Contains(s.Required, name) || rapid.Bool().Draw(rt, label+"."+name+" sent") {
				out[name] = validValue(rt, s.Properties[name].Value, label+"."+name)
			}
		}
		return out
	case s.Type.Is("integer"):
		lo, hi := int64(-1e6), int64(1e6)
		if s.Min != nil {
			lo = int64(*s.Min)
		}
		if s.Max != nil {
			hi = int64(*s.Max)
		}
		if s.Format == "int32" {
			lo, hi = max(lo, math.MinInt32), min(hi, math.MaxInt32)
		}
		return rapid.Int64Range(lo, min(hi, lo+1e9)).Draw(rt, label)
	case s.Type.Is("boolean"):
		return rapid.Bool().Draw(rt, label)
	case s.Type.Is("string"):
		return validString(rt, s, label)
	}
	rt.Fatalf("%s: no generator for schema type %v", label, s.Type)
	return nil
}

// validString generates a string within s's lengths that matches its pattern.
func validString(rt *rapid.T, s *openapi3.Schema, label string) string {
	lo, hi := int(s.MinLength), 40
	if s.MaxLength != nil {
		hi = int(*s.MaxLength)
	}
	if s.Pattern == "" {
		n := rapid.IntRange(lo, min(hi, lo+30)).Draw(rt, label+" length")
		if rapid.IntRange(0, 9).Draw(rt, label+" at a bound") == 0 {
			n = rapid.SampledFrom([]int{lo, hi}).Draw(rt, label+" bound")
		}
		return string(rapid.SliceOfN(anyRune(), n, n).Draw(rt, label))
	}
	re := compiled(rt, s.Pattern)
	tree := parsed(rt, s.Pattern)
	return rapid.Custom(func(rt *rapid.T) string { return fromRegexp(rt, tree) }).
		Filter(func(v string) bool {
			n := utf8.RuneCountInString(v)
			return n >= lo && n <= hi && re.MatchString(v)
		}).Draw(rt, label)
}

// anyRune draws any character: ASCII mostly, Latin, other scripts, white space and controls.
func anyRune() *rapid.Generator[rune] {
	return rapid.OneOf(rapid.RuneFrom(nil, asciiTable), rapid.RuneFrom([]rune("éÉàçœ李𝒜 \t\n\u00a0\u202e\u200b\x00\x7f")), rapid.Rune())
}

var asciiTable = &unicode.RangeTable{R16: []unicode.Range16{{Lo: ' ', Hi: '~', Stride: 1}}}

// fromRegexp generates a string that the regular expression re (simplified syntax tree) matches.
func fromRegexp(rt *rapid.T, re *syntax.Regexp) string {
	var b strings.Builder
	var walk func(re *syntax.Regexp)
	repeat := func(sub *syntax.Regexp, lo, hi int) {
		if hi < 0 || hi > lo+4 {
			hi = lo + 4
		}
		for range rapid.IntRange(lo, hi).Draw(rt, "repeat") {
			walk(sub)
		}
	}
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			b.WriteString(string(re.Rune))
		case syntax.OpCharClass:
			b.WriteRune(classRune(rt, re.Rune))
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteRune(rapid.RuneFrom(nil, asciiTable).Draw(rt, "any"))
		case syntax.OpCapture:
			walk(re.Sub[0])
		case syntax.OpStar:
			repeat(re.Sub[0], 0, 4)
		case syntax.OpPlus:
			repeat(re.Sub[0], 1, 5)
		case syntax.OpQuest:
			repeat(re.Sub[0], 0, 1)
		case syntax.OpRepeat:
			repeat(re.Sub[0], re.Min, re.Max)
		case syntax.OpConcat:
			for _, sub := range re.Sub {
				walk(sub)
			}
		case syntax.OpAlternate:
			walk(re.Sub[rapid.IntRange(0, len(re.Sub)-1).Draw(rt, "alternative")])
		}
	}
	walk(re)
	return b.String()
}

// classRune draws a character of a class (pairs of inclusive ranges): ASCII and Latin ones half
// the time when the class has some, any other of its characters otherwise (never a surrogate).
func classRune(rt *rapid.T, ranges []rune) rune {
	var low [][2]rune
	for i := 0; i < len(ranges); i += 2 {
		if ranges[i] < 0x250 {
			low = append(low, [2]rune{ranges[i], min(ranges[i+1], 0x24f)})
		}
	}
	if len(low) > 0 && rapid.Bool().Draw(rt, "latin") {
		r := low[rapid.IntRange(0, len(low)-1).Draw(rt, "range")]
		return rapid.Int32Range(r[0], r[1]).Draw(rt, "rune")
	}
	i := 2 * rapid.IntRange(0, len(ranges)/2-1).Draw(rt, "range")
	r := rapid.Int32Range(ranges[i], ranges[i+1]).Draw(rt, "rune")
	if r >= 0xd800 && r <= 0xdfff {
		r = ranges[i]
	}
	return r
}

var (
	regexps = map[string]*regexp.Regexp{}
	trees   = map[string]*syntax.Regexp{}
)

func compiled(rt *rapid.T, pattern string) *regexp.Regexp {
	if re, ok := regexps[pattern]; ok {
		return re
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		rt.Fatalf("pattern %q: %v", pattern, err)
	}
	regexps[pattern] = re
	return re
}

func parsed(rt *rapid.T, pattern string) *syntax.Regexp {
	if re, ok := trees[pattern]; ok {
		return re
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		rt.Fatalf("pattern %q: %v", pattern, err)
	}
	trees[pattern] = re.Simplify()
	return trees[pattern]
}

func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	default:
		return fmt.Sprint(v)
	}
}

// ---------------------------------------------------------------- violations

// violation breaks one constraint of a valid request.
type violation struct {
	name  string
	apply func(rt *rapid.T, c *request)
}

// violations lists, for every constraint of the operation's parameters and body, a way to break it.
func violations(o *operation) []violation {
	var out []violation
	for _, in := range []string{openapi3.ParameterInPath, openapi3.ParameterInQuery} {
		for _, p := range o.params(in) {
			for _, v := range valueViolations(p.Schema.Value) {
				if v.name == "not a string" {
					continue // a parameter is text: a string of digits is a string
				}
				out = append(out, violation{name: in + " " + p.Name + ": " + v.name, apply: func(rt *rapid.T, c *request) {
					bad := v.value(rt)
					if bad == nil {
						rt.Skip("no such value")
					}
					if in == openapi3.ParameterInPath {
						c.path[p.Name] = scalarString(bad)
					} else {
						c.query.Set(p.Name, scalarString(bad))
					}
				}})
			}
		}
	}
	s, required := o.bodySchema()
	if s == nil {
		return out
	}
	if required {
		out = append(out, violation{"body: missing", func(rt *rapid.T, c *request) { c.body, c.noBody = nil, true }})
	}
	out = append(out, violation{"body: not an object", func(rt *rapid.T, c *request) { c.rawBody = []byte(`["not", "an", "object"]`) }})
	for _, name := range s.Required {
		out = append(out, violation{"body: required " + name + " missing", func(rt *rapid.T, c *request) {
			ensureBody(rt, s, c)
			delete(c.body, name)
		}})
	}
	if s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has {
		out = append(out, violation{"body: unknown property", func(rt *rapid.T, c *request) {
			ensureBody(rt, s, c)
			c.body["unknown_"+rapid.StringMatching(`[a-z]{1,8}`).Draw(rt, "unknown")] = "x"
		}})
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		for _, v := range valueViolations(s.Properties[name].Value) {
			out = append(out, violation{name: "body " + name + ": " + v.name, apply: func(rt *rapid.T, c *request) {
				bad := v.value(rt)
				if bad == nil {
					rt.Skip("no such value")
				}
				ensureBody(rt, s, c)
				c.body[name] = bad
			}})
		}
	}
	return out
}

// ensureBody gives c a valid body when it has none (the body was optional).
func ensureBody(rt *rapid.T, s *openapi3.Schema, c *request) {
	if c.body == nil {
		c.body, c.noBody = validValue(rt, s, "body").(map[string]any), false
	}
}

type badValue struct {
	name  string
	value func(rt *rapid.T) any // nil result: none possible this time
}

// valueViolations lists values that break exactly one constraint of s (a pattern that cannot be
// met at a length breaks the pattern too: minLength 1 of a name needing a letter).
func valueViolations(s *openapi3.Schema) []badValue {
	var out []badValue
	switch {
	case len(s.Enum) > 0:
		out = append(out, badValue{"not in the enum", func(rt *rapid.T) any {
			v := rapid.StringMatching(`[a-z]{1,10}`).Draw(rt, "not enum")
			if slices.Contains(s.Enum, any(v)) {
				return nil
			}
			return v
		}})
	case s.Type.Is("integer"):
		out = append(out, badValue{"not an integer", func(rt *rapid.T) any {
			return rapid.SampledFrom([]any{"abc", "1.5", "", "1e3", "0x10", "99999999999999999999"}).Draw(rt, "not int")
		}})
		if s.Min != nil {
			out = append(out, badValue{"below minimum", func(rt *rapid.T) any {
				return int64(*s.Min) - rapid.Int64Range(1, 1e6).Draw(rt, "below")
			}})
		}
		if s.Max != nil {
			out = append(out, badValue{"above maximum", func(rt *rapid.T) any {
				return int64(*s.Max) + rapid.Int64Range(1, 1e6).Draw(rt, "above")
			}})
		}
	case s.Type.Is("string"):
		if s.MaxLength != nil {
			out = append(out, badValue{"longer than maxLength", func(rt *rapid.T) any {
				return lengthen(rt, s, int(*s.MaxLength)+rapid.IntRange(1, 20).Draw(rt, "over"))
			}})
		}
		if s.MinLength > 0 {
			out = append(out, badValue{"shorter than minLength", func(rt *rapid.T) any {
				n := rapid.IntRange(0, int(s.MinLength)-1).Draw(rt, "under")
				return string(rapid.SliceOfN(rapid.RuneFrom(nil, asciiTable), n, n).Draw(rt, "short"))
			}})
		}
		if s.Pattern != "" {
			out = append(out, badValue{"not matching the pattern", func(rt *rapid.T) any { return breakPattern(rt, s) }})
		}
	}
	if s.Type.Is("string") && len(s.Enum) == 0 {
		out = append(out, badValue{"not a string", func(rt *rapid.T) any { return rapid.SampledFrom([]any{12, true, []any{"x"}}).Draw(rt, "not string") }})
	}
	if s.Type.Is("object") {
		out = append(out, badValue{"not an object", func(rt *rapid.T) any { return "x" }})
	}
	return out
}

// lengthen returns a value of s with n characters that still matches its pattern, or nil.
func lengthen(rt *rapid.T, s *openapi3.Schema, n int) any {
	v := []rune(validString(rt, s, "base"))
	fill := rapid.SampledFrom([]rune("aé")).Draw(rt, "fill")
	for len(v) < n {
		v = slices.Insert(v, len(v)/2, fill)
	}
	if s.Pattern != "" && !compiled(rt, s.Pattern).MatchString(string(v)) {
		return nil
	}
	return string(v)
}

// breakPattern returns a string within s's lengths that its pattern does not match: a valid one
// with a character inserted that the pattern refuses there, or one with no letter.
func breakPattern(rt *rapid.T, s *openapi3.Schema) any {
	re := compiled(rt, s.Pattern)
	hi := 40
	if s.MaxLength != nil {
		hi = int(*s.MaxLength)
	}
	var v []rune
	if rapid.Bool().Draw(rt, "mutate a valid value") {
		// A valid value with, at some place, the first character (from a random start) of a list of
		// characters patterns refuse that the pattern refuses there.
		base := []rune(validString(rt, s, "base"))
		bad := []rune("\x00\x01\x1f\x7f\u0085\u009f\u202a\u202e\u2066\u2069@\"(),:;<>[]\\ .")
		at := rapid.IntRange(0, len(base)).Draw(rt, "at")
		from := rapid.IntRange(0, len(bad)-1).Draw(rt, "from")
		for i := range bad {
			v = slices.Insert(slices.Clone(base), at, bad[(from+i)%len(bad)])
			if !re.MatchString(string(v)) {
				break
			}
		}
	} else {
		n := rapid.IntRange(max(int(s.MinLength), 0), min(hi, 12)).Draw(rt, "length")
		v = rapid.SliceOfN(rapid.RuneFrom([]rune(" .@-_'0123456789\t\u00a0")), n, n).Draw(rt, "no letters")
	}
	if n := len(v); n < int(s.MinLength) || n > hi || re.MatchString(string(v)) {
		return nil
	}
	return string(v)
}

// register opens an account of type typ and returns its id, email and token.
func (w *world) register(rt *rapid.T, prenom, typ string) (int64, string, string) {
	email := fmt.Sprintf("prop-%d-%d@example.com", w.n.Add(1), rapid.IntRange(0, 1e9).Draw(rt, "email"))
	body, _ := json.Marshal(map[string]string{"prenom": prenom, "nom": "Test", "email": email, "password": apptest.Password,
		"confirm_password": apptest.Password, "type_compte": typ})
	res := w.do(rt, http.MethodPost, "/api/users/auth/register", "", body)
	var out struct {
		Token string `json:"token"`
		User  struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &out) != nil {
		rt.Fatalf("register %s: %d %s", typ, res.status, res.body)
	}
	return out.User.ID, email, out.Token
}
