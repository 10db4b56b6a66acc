package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"gopkg.in/yaml.v3"
)

// page is what the HTML page shows: the parsed events plus the prose and examples of the document.
type page struct {
	*api
	Version   string
	Intro     template.HTML
	Servers   []server
	Handshake template.HTML // the security schemes' descriptions
	Events    []eventPage
}

type server struct {
	Name, URL, Doc string
}

type eventPage struct {
	event
	Title    string
	Summary  string
	Examples []example
}

type example struct {
	Name, Summary, JSON string
}

// renderHTML returns a self-contained HTML page (no script, no external resource) describing the
// rooms, events, payloads, examples and handshake of an AsyncAPI 3 document.
func renderHTML(file string, src []byte) ([]byte, error) {
	a, err := parse(file, src)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := unmarshalYAML(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	w := &walker{file: file, root: deref(&doc)}
	pg := &page{api: a}
	info := get(w.root, "info")
	if pg.Version, err = w.str(info, "version", false); err != nil {
		return nil, err
	}
	intro, err := w.str(info, "description", false)
	if err != nil {
		return nil, err
	}
	pg.Intro = markdown(intro)
	for _, kv := range pairs(get(w.root, "servers")) {
		s, err := w.resolve(kv.val)
		if err != nil {
			return nil, err
		}
		var host, path, proto, desc string
		for k, v := range map[string]*string{"host": &host, "pathname": &path, "protocol": &proto, "description": &desc} {
			if *v, err = w.str(s, k, false); err != nil {
				return nil, err
			}
		}
		pg.Servers = append(pg.Servers, server{Name: kv.key, URL: proto + "://" + host + path, Doc: desc})
	}
	var handshake []string
	for _, kv := range pairs(get(get(w.root, "components"), "securitySchemes")) {
		s, err := w.resolve(kv.val)
		if err != nil {
			return nil, err
		}
		d, err := w.str(s, "description", false)
		if err != nil {
			return nil, err
		}
		handshake = append(handshake, d)
	}
	pg.Handshake = markdown(strings.Join(handshake, "\n\n"))

	// The messages by event name, for their titles and examples.
	msgs := map[string]*yaml.Node{}
	for _, ch := range pairs(get(w.root, "channels")) {
		chNode, err := w.resolve(ch.val)
		if err != nil {
			return nil, err
		}
		for _, m := range pairs(get(chNode, "messages")) {
			mNode, err := w.resolve(m.val)
			if err != nil {
				return nil, err
			}
			name, _ := w.str(mNode, "name", false)
			msgs[name] = mNode
		}
	}
	for _, ev := range a.Events {
		m := msgs[ev.Name]
		ep := eventPage{event: ev}
		if ep.Title, err = w.str(m, "title", false); err != nil {
			return nil, err
		}
		if ep.Summary, err = w.str(m, "summary", false); err != nil {
			return nil, err
		}
		if d, _ := w.str(m, "description", false); d != "" && ep.Summary == "" {
			ep.Summary = d
		}
		for _, exNode := range seq(get(m, "examples")) {
			ex, err := w.resolve(exNode)
			if err != nil {
				return nil, err
			}
			e := example{}
			e.Name, _ = w.str(ex, "name", false)
			e.Summary, _ = w.str(ex, "summary", false)
			payload, err := w.resolve(get(ex, "payload"))
			if err != nil {
				return nil, err
			}
			if payload == nil {
				continue
			}
			var b bytes.Buffer
			if err := w.writeJSON(&b, payload, ""); err != nil {
				return nil, err
			}
			e.JSON = b.String()
			ep.Examples = append(ep.Examples, e)
		}
		pg.Events = append(pg.Events, ep)
	}
	var out bytes.Buffer
	if err := htmlTmpl.Execute(&out, pg); err != nil {
		return nil, fmt.Errorf("html template: %w", err)
	}
	return out.Bytes(), nil
}

func seq(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// writeJSON writes a YAML value as indented JSON, keeping the document's key order.
func (p *walker) writeJSON(b *bytes.Buffer, n *yaml.Node, indent string) error {
	n, err := p.resolve(n)
	if err != nil {
		return err
	}
	switch n.Kind {
	case yaml.MappingNode:
		kvs := pairs(n)
		if len(kvs) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{\n")
		for i, kv := range kvs {
			k, _ := json.Marshal(kv.key)
			b.WriteString(indent + "  " + string(k) + ": ")
			if err := p.writeJSON(b, kv.val, indent+"  "); err != nil {
				return err
			}
			if i < len(kvs)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[\n")
		for i, c := range n.Content {
			b.WriteString(indent + "  ")
			if err := p.writeJSON(b, c, indent+"  "); err != nil {
				return err
			}
			if i < len(n.Content)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "]")
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			v, err := strconv.ParseBool(n.Value)
			if err != nil {
				return p.errorf(n, "example: %v", err)
			}
			b.WriteString(strconv.FormatBool(v))
		case "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return p.errorf(n, "example: %v", err)
			}
			j, err := json.Marshal(v)
			if err != nil {
				return p.errorf(n, "example: %v", err)
			}
			b.Write(j)
		default:
			j, _ := json.Marshal(n.Value)
			b.Write(j)
		}
	default:
		return p.errorf(n, "example: unsupported YAML node")
	}
	return nil
}

// mdRenderer renders the contract's Markdown (CommonMark). goldmark's default renderer is safe: raw HTML
// in a description is left out (an HTML comment says so) and links with a dangerous scheme
// (javascript:, vbscript:, file:, data: except images) lose their target. Never add
// html.WithUnsafe here: descriptions are contract text, not trusted markup.
var mdRenderer = goldmark.New()

// markdown renders a description of the contract as HTML.
func markdown(s string) template.HTML {
	var b bytes.Buffer
	if err := mdRenderer.Convert([]byte(strings.TrimSpace(s)), &b); err != nil {
		// goldmark fails only when the writer does; a bytes.Buffer does not. Fall back to text.
		return template.HTML("<p>" + template.HTMLEscapeString(s) + "</p>\n")
	}
	return template.HTML(b.String())
}

// htmlTypeName is how the events page names a field's type; an object lists its properties.
func htmlTypeName(f field) string {
	if f.typ == tObject {
		parts := make([]string, len(f.Sub))
		for i, sub := range f.Sub {
			opt := ""
			if !sub.Required {
				opt = "?"
			}
			parts[i] = sub.JSON + opt + ": " + htmlTypeName(sub)
		}
		return "object {" + strings.Join(parts, ", ") + "}"
	}
	return [...]string{tString: "string", tInt64: "integer", tFloat64: "number", tBool: "boolean", tTime: "string (date-time)"}[f.typ]
}

var htmlFuncs = template.FuncMap{
	"typeName": htmlTypeName,
	"anchor": func(name string) string {
		return "event-" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '-'
		}, strings.ToLower(name))
	},
	"roomAnchor": func(pattern string) string {
		return "room-" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '-'
		}, strings.ToLower(pattern))
	},
	"md":   markdown,
	"join": strings.Join,
	"paramType": func(p param) string {
		if p.typ == tInt64 {
			return "integer"
		}
		return "string"
	},
}

var htmlTmpl = template.Must(template.New("html").Funcs(htmlFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="Code generated by cmd/asyncgen from {{.Source}}. DO NOT EDIT.">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; background: #fff; }
header, main { max-width: 60rem; margin: 0 auto; padding: 0 1.25rem; }
header { padding-top: 1.5rem; border-bottom: 1px solid #d0d7de; }
nav a { margin-right: 1rem; }
h1 { font-size: 1.8rem; margin: .2rem 0 .8rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
h3 { margin-top: 2rem; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
code { background: #f6f8fa; padding: .1em .3em; border-radius: 4px; }
pre { background: #f6f8fa; padding: .8rem 1rem; border-radius: 6px; overflow-x: auto; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; }
th, td { border: 1px solid #d0d7de; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.req { color: #cf222e; font-size: .85em; }
.muted { color: #59636e; }
.event { border-left: 4px solid #0969da; padding-left: 1rem; margin-top: 1.5rem; }
</style>
</head>
<body>
<header>
<nav><a href="./">API docs</a><a href="api.html">REST API</a><a href="events.html">Socket.IO events</a></nav>
<h1>{{.Title}} <span class="muted">{{.Version}}</span></h1>
</header>
<main>
{{.Intro}}
<h2 id="connect">Connecting</h2>
<table>
<tr><th>server</th><th>URL</th><th>notes</th></tr>
{{- range .Servers}}
<tr><td>{{.Name}}</td><td><code>{{.URL}}</code></td><td>{{.Doc}}</td></tr>
{{- end}}
</table>
<h3>Handshake authentication</h3>
{{.Handshake}}
<pre><code>import { io } from "socket.io-client";
const socket = io("http://localhost:3001", { auth: { token } });
socket.on("connect_error", (err) =&gt; console.error(err.message)); // "unauthorized"
{{- range .Events}}
socket.on({{printf "%q" .Name}}, (payload) =&gt; console.log(payload));
{{- end}}</code></pre>

<h2 id="rooms">Rooms</h2>
<p>Rooms are joined by the server; clients never join or leave them.</p>
<table>
<tr><th>room</th><th>who is in it</th><th>parameters</th></tr>
{{- range .Rooms}}
<tr id="{{roomAnchor .Pattern}}"><td><code>{{.Pattern}}</code></td><td>{{md .Doc}}</td><td>{{range .Params}}<code>{{.Name}}</code> ({{paramType .}}) {{end}}</td></tr>
{{- end}}
</table>

<h2 id="events">Events</h2>
<table>
<tr><th>event</th><th>rooms</th><th>summary</th></tr>
{{- range .Events}}
<tr><td><a href="#{{anchor .Name}}"><code>{{.Name}}</code></a></td><td>{{range $i, $r := .Rooms}}{{if $i}}, {{end}}<code>{{$r.Pattern}}</code>{{end}}</td><td>{{.Summary}}</td></tr>
{{- end}}
</table>
{{range .Events}}
<section class="event" id="{{anchor .Name}}">
<h3>{{.Name}}</h3>
{{- if .Title}}
<p><strong>{{.Title}}</strong>{{if .Summary}}: {{.Summary}}{{end}}</p>
{{- else if .Summary}}
<p>{{.Summary}}</p>
{{- end}}
<p>Sent to: {{range $i, $r := .Rooms}}{{if $i}}, {{end}}<a href="#{{roomAnchor $r.Room.Pattern}}"><code>{{$r.Pattern}}</code></a>{{end}}.
A socket in several of these rooms receives it once.</p>
{{- if .Doc}}{{if ne .Doc .Summary}}
<p>{{.Doc}}</p>
{{- end}}{{end}}
<h4>Payload</h4>
{{- if .Fields}}
<table>
<tr><th>field</th><th>type</th><th>description</th></tr>
{{- range .Fields}}
<tr><td><code>{{.JSON}}</code>{{if .Required}} <span class="req">required</span>{{end}}</td><td>{{typeName .}}{{if .Enum}}: one of {{range $i, $e := .Enum}}{{if $i}}, {{end}}<code>{{$e}}</code>{{end}}{{end}}</td><td>{{.Doc}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>An empty object.</p>
{{- end}}
{{- range .Examples}}
<h4>Example{{if .Summary}}: {{.Summary}}{{else if .Name}}: {{.Name}}{{end}}</h4>
<pre><code>{{.JSON}}</code></pre>
{{- end}}
</section>
{{- end}}
</main>
</body>
</html>
`))
