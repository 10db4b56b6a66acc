// Command asyncgen generates the Go package and the TypeScript types of our Socket.IO events
// from an AsyncAPI 3 document:
//
//	go run ./cmd/asyncgen -in asyncapi.yaml -go gen/events/events_gen.go -ts clients/typescript/src/gen/events.ts -html gen/docs/events.html
//
// -html writes a self-contained HTML page of the events (rooms, payloads, examples, handshake).
//
// Each message of a channel is one event: its name is the event name, its payload an object of
// string, string/date-time, integer, number or boolean properties, and its x-rooms extension lists the
// rooms it is sent to. Rooms are declared in the channel's x-rooms extension; a {field} placeholder in a
// message's room names a payload field.
//
// A message marked x-internal: true (or listed by a channel so marked) is internal: the server's
// nodes record and relay it among themselves, and never send it to clients. The Go package has its
// type, constructor and decoder, and IsInternal reports it; the TypeScript module and the HTML page
// leave it out. Every event also gets a Decode function, the inverse of its constructor.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "asyncgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("asyncgen", flag.ContinueOnError)
	in := fs.String("in", "asyncapi.yaml", "AsyncAPI 3 document to read")
	goOut := fs.String("go", "", "Go file to write (package events)")
	tsOut := fs.String("ts", "", "TypeScript file to write")
	htmlOut := fs.String("html", "", "HTML page of the events to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *goOut == "" && *tsOut == "" && *htmlOut == "" {
		return fmt.Errorf("nothing to do: give -go, -ts and/or -html")
	}
	src, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	goSrc, tsSrc, err := generate(filepath.Base(*in), src)
	if err != nil {
		return err
	}
	var htmlSrc []byte
	if *htmlOut != "" {
		if htmlSrc, err = renderHTML(filepath.Base(*in), src); err != nil {
			return err
		}
	}
	for _, out := range []struct {
		path string
		data []byte
	}{{*goOut, goSrc}, {*tsOut, tsSrc}, {*htmlOut, htmlSrc}} {
		if out.path == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(out.path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out.path, out.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
