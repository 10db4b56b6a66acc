package artisannotify

import "embed"

// Contracts holds openapi.yaml and asyncapi.yaml as committed.
//
//go:embed openapi.yaml asyncapi.yaml
var Contracts embed.FS

// Docs holds the HTML pages generated from the contracts (gen/docs): api.html (REST, by
// redocly build-docs) and events.html (Socket.IO events, by cmd/asyncgen).
//
//go:embed gen/docs/api.html gen/docs/events.html
var Docs embed.FS
