package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// api is what the generators need from an AsyncAPI document.
type api struct {
	Source   string // file name, for the generated headers
	Title    string
	Rooms    []room  // sorted by pattern
	Events   []event // the events clients receive, sorted by name
	Internal []event // the events marked x-internal (between the server's nodes only), sorted by name
}

// GoEvents returns every event, internal ones included, sorted by name: the Go package has them all,
// the TypeScript module and the HTML page only the events clients receive.
func (a *api) GoEvents() []event {
	all := append(slices.Clone(a.Events), a.Internal...)
	slices.SortStableFunc(all, func(x, y event) int { return strings.Compare(x.Name, y.Name) })
	return all
}

// room is one entry of a channel's x-rooms, e.g. "user:{id}".
type room struct {
	Pattern string
	Doc     string
	Parts   []part  // literals and placeholders, in order
	Params  []param // the placeholders, in order
	GoName  string  // RoomPDGNotifications or UserRoom
	TSName  string  // RoomPDGNotifications or userRoom
}

// part is a literal piece of a room pattern or, when Param is set, a placeholder.
type part struct {
	Lit   string
	Param string
}

// param is a room placeholder with the type the channel declares for it.
type param struct {
	Name   string // as written
	GoName string // a safe Go identifier
	TSName string // a safe TypeScript identifier
	typ    scalar
}

// event is one message: a Socket.IO event and its payload.
type event struct {
	Name     string // "artisan-request:new"
	Ident    string // "ArtisanRequestNew"
	Doc      string
	Fields   []field
	Rooms    []roomUse
	Internal bool // x-internal: true: recorded and relayed between the server's nodes, never sent to clients
}

// field is one payload property.
type field struct {
	JSON     string
	GoName   string
	Doc      string
	Required bool
	typ      scalar
	Enum     []string
	// Sub and GoType describe an object field (typ tObject): its properties (scalars only) and the
	// Go struct type generated for it (the event's identifier and the field's Go name).
	Sub    []field
	GoType string
}

// roomUse is one room of an event, its placeholders bound to payload fields.
type roomUse struct {
	Pattern string // as written in the message, e.g. "user:{contact_id}"
	Room    *room
	Fields  []*field // one per room placeholder
}

// scalar is a payload type the generator supports.
type scalar int

const (
	tString scalar = iota + 1
	tInt64
	tFloat64
	tBool
	tTime
	tObject
)

func (s scalar) Go() string {
	return [...]string{tString: "string", tInt64: "int64", tFloat64: "float64", tBool: "bool", tTime: "time.Time", tObject: "struct"}[s]
}

func (s scalar) TS() string {
	return [...]string{tString: "string", tInt64: "number", tFloat64: "number", tBool: "boolean", tTime: "string", tObject: "object"}[s]
}

// walker walks a yaml.v3 node tree, following local $refs, and reports errors as file:line:col.
type walker struct {
	file string
	root *yaml.Node
}

func (p *walker) errorf(n *yaml.Node, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if n == nil || n.Line == 0 {
		return fmt.Errorf("%s: %s", p.file, msg)
	}
	return fmt.Errorf("%s:%d:%d: %s", p.file, n.Line, n.Column, msg)
}

// parse reads an AsyncAPI 3 document. It returns an error naming file:line:col for anything the
// generators cannot express.
func parse(file string, src []byte) (a *api, err error) {
	var doc yaml.Node
	if err := unmarshalYAML(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &walker{file: file, root: deref(&doc)}
	if p.root == nil || p.root.Kind != yaml.MappingNode {
		return nil, p.errorf(p.root, "document is not a mapping")
	}
	if v, err := p.str(p.root, "asyncapi", true); err != nil {
		return nil, err
	} else if !strings.HasPrefix(v, "3.") {
		return nil, p.errorf(get(p.root, "asyncapi"), "asyncapi %q: only version 3 is supported", v)
	}
	a = &api{Source: file}
	if info := get(p.root, "info"); info != nil {
		if a.Title, err = p.str(info, "title", false); err != nil {
			return nil, err
		}
	}
	channels, err := p.mapping(get(p.root, "channels"), "channels")
	if err != nil {
		return nil, err
	}
	rooms := map[string]*room{} // by shape: "user:{}"
	seen := map[*yaml.Node]bool{}
	names := map[string]*yaml.Node{} // event name -> its message
	var uses [][]*yaml.Node          // x-rooms entries of each event, resolved once all rooms are known
	for _, ch := range pairs(channels) {
		chNode, err := p.resolve(ch.val)
		if err != nil {
			return nil, err
		}
		if err := p.parseRooms(chNode, rooms); err != nil {
			return nil, err
		}
		chInternal, err := p.flag(chNode, "x-internal")
		if err != nil {
			return nil, err
		}
		msgs := get(chNode, "messages")
		if msgs == nil {
			continue
		}
		if msgs.Kind != yaml.MappingNode {
			return nil, p.errorf(msgs, "channel %q: messages must be a mapping", ch.key)
		}
		for _, m := range pairs(msgs) {
			mNode, err := p.resolve(m.val)
			if err != nil {
				return nil, err
			}
			if seen[mNode] {
				continue // the same message listed by another channel
			}
			seen[mNode] = true
			ev, roomNodes, err := p.parseMessage(m.key, mNode)
			if err != nil {
				return nil, err
			}
			ev.Internal = ev.Internal || chInternal
			if prev := names[ev.Name]; prev != nil {
				return nil, p.errorf(get(mNode, "name"), "duplicate event name %q (first at line %d)", ev.Name, prev.Line)
			}
			names[ev.Name] = mNode
			a.Events = append(a.Events, ev)
			uses = append(uses, roomNodes)
		}
	}
	for i := range a.Events {
		if err := p.bindRooms(&a.Events[i], uses[i], rooms); err != nil {
			return nil, err
		}
	}
	all := a.Events
	a.Events = nil
	for _, ev := range all {
		if ev.Internal {
			a.Internal = append(a.Internal, ev)
		} else {
			a.Events = append(a.Events, ev)
		}
	}
	for _, r := range rooms {
		a.Rooms = append(a.Rooms, *r)
	}
	slices.SortFunc(a.Rooms, func(x, y room) int { return strings.Compare(x.Pattern, y.Pattern) })
	slices.SortStableFunc(a.Events, func(x, y event) int { return strings.Compare(x.Name, y.Name) })
	slices.SortStableFunc(a.Internal, func(x, y event) int { return strings.Compare(x.Name, y.Name) })
	if err := checkNames(a); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return a, nil
}

// unmarshalYAML turns a panic inside the YAML library into an error.
func unmarshalYAML(src []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(src, n)
}

// parseRooms adds the rooms declared in a channel's x-rooms.
func (p *walker) parseRooms(ch *yaml.Node, rooms map[string]*room) error {
	decl := get(ch, "x-rooms")
	if decl == nil {
		return nil
	}
	if decl.Kind != yaml.MappingNode {
		return p.errorf(decl, "x-rooms must map room patterns to {description, parameters}")
	}
	for _, kv := range pairs(decl) {
		parts, err := parsePattern(kv.key)
		if err != nil {
			return p.errorf(kv.keyNode, "room %q: %v", kv.key, err)
		}
		body, err := p.resolve(kv.val)
		if err != nil {
			return err
		}
		if body.Kind != yaml.MappingNode && !isNull(body) {
			return p.errorf(body, "room %q must be a mapping", kv.key)
		}
		r := &room{Pattern: kv.key, Parts: parts}
		if r.Doc, err = p.str(body, "description", false); err != nil {
			return err
		}
		declared := get(body, "parameters")
		for _, pt := range parts {
			if pt.Param == "" {
				continue
			}
			schema, err := p.resolve(get(declared, pt.Param))
			if err != nil {
				return err
			}
			if schema == nil {
				return p.errorf(kv.keyNode, "room %q: placeholder {%s} has no schema under parameters", kv.key, pt.Param)
			}
			t, _, err := p.scalarType(schema)
			if err != nil {
				return err
			}
			if t != tInt64 && t != tString {
				return p.errorf(schema, "room %q: placeholder {%s} must be an integer or a string", kv.key, pt.Param)
			}
			pr := param{Name: pt.Param, typ: t,
				GoName: safeIdent(lowerFirst(pascal(pt.Param)), goReserved),
				TSName: safeIdent(lowerFirst(pascal(pt.Param)), tsReserved)}
			for _, prev := range r.Params {
				if prev.GoName == pr.GoName || prev.TSName == pr.TSName {
					return p.errorf(kv.keyNode, "room %q: placeholders {%s} and {%s} give the same parameter name", kv.key, prev.Name, pr.Name)
				}
			}
			r.Params = append(r.Params, pr)
		}
		if len(r.Params) == 0 {
			r.GoName, r.TSName = "Room"+pascal(kv.key), "Room"+pascal(kv.key)
		} else {
			r.GoName = pascal(literals(parts)) + "Room"
			r.TSName = lowerFirst(r.GoName)
		}
		if !isLetter(r.GoName[0]) || r.GoName == "Room" {
			return p.errorf(kv.keyNode, "room %q gives no identifier: start its literal part with a letter", kv.key)
		}
		shape := shapeOf(parts)
		if rooms[shape] != nil {
			return p.errorf(kv.keyNode, "room %q is declared twice (as %q too)", kv.key, rooms[shape].Pattern)
		}
		rooms[shape] = r
	}
	return nil
}

// parseMessage reads one message: its event name, payload fields and doc.
// It returns the message's x-rooms entries for bindRooms.
func (p *walker) parseMessage(key string, m *yaml.Node) (event, []*yaml.Node, error) {
	var ev event
	if m.Kind != yaml.MappingNode {
		return ev, nil, p.errorf(m, "message %q must be a mapping", key)
	}
	name, err := p.str(m, "name", false)
	if err != nil {
		return ev, nil, err
	}
	if name == "" {
		return ev, nil, p.errorf(m, "message %q has no name (the Socket.IO event name)", key)
	}
	ev.Name, ev.Ident = name, pascal(name)
	if ev.Ident == "" || !isLetter(ev.Ident[0]) {
		return ev, nil, p.errorf(get(m, "name"), "event name %q gives no identifier: start it with a letter", name)
	}
	for _, k := range []string{"summary", "title", "description"} {
		if ev.Doc, err = p.str(m, k, false); err != nil || ev.Doc != "" {
			break
		}
	}
	if err != nil {
		return ev, nil, err
	}
	if ev.Internal, err = p.flag(m, "x-internal"); err != nil {
		return ev, nil, err
	}
	payload, err := p.resolve(get(m, "payload"))
	if err != nil {
		return ev, nil, err
	}
	if payload == nil || isNull(payload) {
		return ev, nil, p.errorf(m, "message %q (%s) has no payload", key, name)
	}
	if t, _ := p.str(payload, "type", false); t != "object" || payload.Kind != yaml.MappingNode {
		return ev, nil, p.errorf(payload, "event %s: payload must be a schema of type object", name)
	}
	if ev.Fields, err = p.parseFields(name, ev.Ident, payload, true); err != nil {
		return ev, nil, err
	}
	rooms := get(m, "x-rooms")
	if rooms == nil || rooms.Kind != yaml.SequenceNode || len(rooms.Content) == 0 {
		return ev, nil, p.errorf(m, "event %s: x-rooms must list the rooms it is sent to", name)
	}
	return ev, rooms.Content, nil
}

var fieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseFields returns the properties of an object schema. Properties are scalars or, when nested is
// true (a payload's own properties), objects whose properties are scalars; the Go type of such an
// object is typePrefix followed by the property's Go name.
func (p *walker) parseFields(event, typePrefix string, schema *yaml.Node, nested bool) ([]field, error) {
	props, err := p.resolve(get(schema, "properties"))
	if err != nil {
		return nil, err
	}
	if props != nil && props.Kind != yaml.MappingNode {
		return nil, p.errorf(props, "event %s: properties must be a mapping", event)
	}
	var fields []field
	index := map[string]int{}
	goNames := map[string]string{}
	for _, kv := range pairs(props) {
		if !fieldName.MatchString(kv.key) {
			return nil, p.errorf(kv.keyNode, "event %s: property %q: names must match %s", event, kv.key, fieldName)
		}
		s, err := p.resolve(kv.val)
		if err != nil {
			return nil, err
		}
		var (
			t    scalar
			enum []string
		)
		if typ, _ := p.str(s, "type", false); nested && typ == "object" && s.Kind == yaml.MappingNode {
			t = tObject
		} else if t, enum, err = p.scalarType(s); err != nil {
			return nil, fmt.Errorf("%w (event %s, property %s)", err, event, kv.key)
		}
		f := field{JSON: kv.key, GoName: pascal(kv.key), typ: t, Enum: enum}
		if f.GoName == "" || !isLetter(f.GoName[0]) {
			f.GoName = "X" + f.GoName
		}
		if t == tObject {
			f.GoType = typePrefix + f.GoName
			if f.Sub, err = p.parseFields(event+" "+kv.key, f.GoType, s, false); err != nil {
				return nil, err
			}
		}
		if prev, dup := goNames[f.GoName]; dup {
			return nil, p.errorf(kv.keyNode, "event %s: properties %q and %q both give Go field %s", event, prev, kv.key, f.GoName)
		}
		goNames[f.GoName] = kv.key
		if f.Doc, err = p.str(s, "description", false); err != nil {
			return nil, err
		}
		index[kv.key] = len(fields)
		fields = append(fields, f)
	}
	if req := get(schema, "required"); req != nil {
		if req.Kind != yaml.SequenceNode {
			return nil, p.errorf(req, "event %s: required must be a list", event)
		}
		for _, n := range req.Content {
			n = deref(n)
			i, ok := index[n.Value]
			if n.Kind != yaml.ScalarNode || !ok {
				return nil, p.errorf(n, "event %s: required names no property: %q", event, n.Value)
			}
			fields[i].Required = true
		}
	}
	return fields, nil
}

// scalarType maps a property schema to a supported type; strings may have an enum.
func (p *walker) scalarType(s *yaml.Node) (scalar, []string, error) {
	if s == nil || s.Kind != yaml.MappingNode {
		return 0, nil, p.errorf(s, "schema must be a mapping with a type")
	}
	typ, err := p.str(s, "type", false)
	if err != nil {
		return 0, nil, err
	}
	format, err := p.str(s, "format", false)
	if err != nil {
		return 0, nil, err
	}
	var t scalar
	switch {
	case typ == "string" && format == "date-time":
		t = tTime
	case typ == "string":
		t = tString
	case typ == "integer" && (format == "" || format == "int64" || format == "int32"):
		t = tInt64
	case typ == "number":
		t = tFloat64
	case typ == "boolean":
		t = tBool
	default:
		return 0, nil, p.errorf(s, "unsupported payload type %q (format %q): use string, string/date-time, integer, number or boolean", typ, format)
	}
	enumNode := get(s, "enum")
	if enumNode == nil {
		return t, nil, nil
	}
	if t != tString || enumNode.Kind != yaml.SequenceNode || len(enumNode.Content) == 0 {
		return 0, nil, p.errorf(enumNode, "enum must be a non-empty list, on a string")
	}
	var enum []string
	for _, n := range enumNode.Content {
		if n = deref(n); n.Kind != yaml.ScalarNode {
			return 0, nil, p.errorf(n, "enum values must be strings")
		}
		enum = append(enum, n.Value)
	}
	return t, enum, nil
}

// bindRooms resolves an event's x-rooms against the declared rooms and its payload fields.
func (p *walker) bindRooms(ev *event, nodes []*yaml.Node, rooms map[string]*room) error {
	for _, n := range nodes {
		n = deref(n)
		if n.Kind != yaml.ScalarNode {
			return p.errorf(n, "event %s: x-rooms entries must be strings", ev.Name)
		}
		parts, err := parsePattern(n.Value)
		if err != nil {
			return p.errorf(n, "event %s: room %q: %v", ev.Name, n.Value, err)
		}
		r := rooms[shapeOf(parts)]
		if r == nil {
			return p.errorf(n, "event %s: room %q is not declared in the channel's x-rooms", ev.Name, n.Value)
		}
		use := roomUse{Pattern: n.Value, Room: r}
		for _, pt := range parts {
			if pt.Param == "" {
				continue
			}
			i := slices.IndexFunc(ev.Fields, func(f field) bool { return f.JSON == pt.Param })
			if i < 0 {
				return p.errorf(n, "event %s: room %q: placeholder {%s} names no payload field", ev.Name, n.Value, pt.Param)
			}
			f := &ev.Fields[i]
			want := r.Params[len(use.Fields)].typ
			if f.typ != want || !f.Required {
				return p.errorf(n, "event %s: room %q: field %s must be a required %s", ev.Name, n.Value, pt.Param, want.Go())
			}
			use.Fields = append(use.Fields, f)
		}
		ev.Rooms = append(ev.Rooms, use)
	}
	return nil
}

// checkNames reports two generated top-level names that collide.
func checkNames(a *api) error {
	owner := map[string]string{"Message": "type Message", "Emitter": "type Emitter", "IsInternal": "func IsInternal",
		"ServerToClientEvents": "interface ServerToClientEvents", "ClientToServerEvents": "type ClientToServerEvents"}
	add := func(name, what string) error {
		if prev, dup := owner[name]; dup {
			return fmt.Errorf("%s and %s both generate the name %s", prev, what, name)
		}
		owner[name] = what
		return nil
	}
	for _, r := range a.Rooms {
		if err := add(r.GoName, fmt.Sprintf("room %q", r.Pattern)); err != nil {
			return err
		}
	}
	for _, ev := range a.GoEvents() {
		for _, n := range []string{ev.Ident, "Event" + ev.Ident, "New" + ev.Ident, "Emit" + ev.Ident, "Decode" + ev.Ident} {
			if err := add(n, fmt.Sprintf("event %q", ev.Name)); err != nil {
				return err
			}
		}
		for _, f := range ev.Fields {
			if f.typ != tObject {
				continue
			}
			if err := add(f.GoType, fmt.Sprintf("event %q property %q", ev.Name, f.JSON)); err != nil {
				return err
			}
		}
	}
	return nil
}

// parsePattern splits "user:{id}" into literal and placeholder parts.
func parsePattern(s string) ([]part, error) {
	if s == "" {
		return nil, fmt.Errorf("empty room name")
	}
	var parts []part
	for s != "" {
		open := strings.IndexAny(s, "{}")
		if open < 0 {
			parts = append(parts, part{Lit: s})
			break
		}
		if s[open] == '}' {
			return nil, fmt.Errorf("unmatched }")
		}
		if open > 0 {
			parts = append(parts, part{Lit: s[:open]})
		}
		end := strings.IndexAny(s[open+1:], "{}")
		if end < 0 || s[open+1+end] == '{' {
			return nil, fmt.Errorf("unclosed {")
		}
		name := s[open+1 : open+1+end]
		if !fieldName.MatchString(name) {
			return nil, fmt.Errorf("placeholder {%s}: names must match %s", name, fieldName)
		}
		if len(parts) > 0 && parts[len(parts)-1].Param != "" {
			return nil, fmt.Errorf("placeholders {%s} and {%s} need a literal between them", parts[len(parts)-1].Param, name)
		}
		parts = append(parts, part{Param: name})
		s = s[open+2+end:]
	}
	return parts, nil
}

func shapeOf(parts []part) string {
	var b strings.Builder
	for _, pt := range parts {
		if pt.Param != "" {
			b.WriteString("{}")
		} else {
			b.WriteString(strings.NewReplacer("{", "{{", "}", "}}").Replace(pt.Lit))
		}
	}
	return b.String()
}

func literals(parts []part) string {
	var b strings.Builder
	for _, pt := range parts {
		b.WriteString(pt.Lit + " ")
	}
	return b.String()
}

// YAML helpers. Every lookup follows aliases; resolve also follows local $refs.

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 100; i++ {
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) > 0:
			n = n.Content[0]
		case n.Kind == yaml.AliasNode && n.Alias != nil:
			n = n.Alias
		default:
			return n
		}
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// get returns the value of key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := deref(m.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
}

type pair struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

// pairs lists the entries of a mapping in document order; non-scalar keys are skipped.
func pairs(m *yaml.Node) []pair {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []pair
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := deref(m.Content[i]); k.Kind == yaml.ScalarNode {
			out = append(out, pair{k.Value, k, deref(m.Content[i+1])})
		}
	}
	return out
}

// mapping returns n if it is a mapping.
func (p *walker) mapping(n *yaml.Node, what string) (*yaml.Node, error) {
	if n == nil {
		return nil, p.errorf(p.root, "%s is missing", what)
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, "%s must be a mapping", what)
	}
	return n, nil
}

// str returns the scalar value of m[key]; "" if absent and not required.
func (p *walker) str(m *yaml.Node, key string, required bool) (string, error) {
	n := get(m, key)
	if n == nil {
		if required {
			return "", p.errorf(m, "%s is missing", key)
		}
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", p.errorf(n, "%s must be a string", key)
	}
	return n.Value, nil
}

// flag returns the boolean m[key]: false when absent, an error naming its position when it is not a boolean.
func (p *walker) flag(m *yaml.Node, key string) (bool, error) {
	n := deref(get(m, key))
	if n == nil {
		return false, nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, p.errorf(n, "%s must be true or false", key)
	}
	return strings.EqualFold(n.Value, "true"), nil
}

// resolve follows local $refs ("#/components/..."); nil stays nil.
func (p *walker) resolve(n *yaml.Node) (*yaml.Node, error) {
	for hops := 0; ; hops++ {
		n = deref(n)
		ref := get(n, "$ref")
		if ref == nil {
			return n, nil
		}
		if hops == 32 {
			return nil, p.errorf(ref, "$ref: more than 32 hops (a cycle?)")
		}
		if ref.Kind != yaml.ScalarNode || !strings.HasPrefix(ref.Value, "#/") {
			return nil, p.errorf(ref, "$ref %q: only local references (#/...) are supported", ref.Value)
		}
		target := p.root
		for _, tok := range strings.Split(ref.Value[2:], "/") {
			tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
			if target.Kind == yaml.SequenceNode {
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(target.Content) {
					target = nil
				} else {
					target = deref(target.Content[i])
				}
			} else {
				target = get(target, tok)
			}
			if target == nil {
				return nil, p.errorf(ref, "$ref %q: not found", ref.Value)
			}
		}
		n = target
	}
}

// Names.

var initialisms = map[string]string{"id": "ID", "pdg": "PDG", "url": "URL", "api": "API", "json": "JSON",
	"http": "HTTP", "uuid": "UUID", "ip": "IP", "ids": "IDs"}

// pascal turns "artisan-request:new" into "ArtisanRequestNew": ASCII letters and digits only.
func pascal(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r > 127 || !(isLetter(byte(r)) || r >= '0' && r <= '9') }) {
		if up, ok := initialisms[strings.ToLower(w)]; ok {
			b.WriteString(up)
		} else {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// lowerFirst lowers a leading initialism or letter: "ID" -> "id", "UserRoom" -> "userRoom".
func lowerFirst(s string) string {
	for _, up := range initialisms {
		if s == up {
			return strings.ToLower(s)
		}
		if strings.HasPrefix(s, up) && len(s) > len(up) && s[len(up)] >= 'A' && s[len(up)] <= 'Z' {
			return strings.ToLower(up) + s[len(up):]
		}
	}
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

var goReserved = strings.Fields(`break case chan const continue default defer else fallthrough for func go goto if
	import interface map package range return select struct switch type var strconv string int64`)

var tsReserved = strings.Fields(`break case catch class const continue debugger default delete do else enum export
	extends false finally for function if import in instanceof new null return super switch this throw true try
	typeof var void while with let static yield await implements interface package private protected public
	arguments eval String`)

// safeIdent makes s a usable parameter name: never empty, never a keyword.
func safeIdent(s string, reserved []string) string {
	if s == "" || !isLetter(s[0]) {
		s = "v" + s
	}
	if slices.Contains(reserved, s) {
		s += "_"
	}
	return s
}
