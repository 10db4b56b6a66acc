// Package artisannotify holds the go:generate lines that regenerate everything under gen/
// (and the TypeScript types under clients/typescript/src/gen) from the contracts at the root of the repository.
//
//	go generate ./...
package artisannotify

//go:generate go tool ogen --target gen/oas --package oas --clean openapi.yaml
//go:generate go tool -modfile=tools/go.mod sqlc generate
//go:generate go run ./cmd/asyncgen -in asyncapi.yaml -go gen/events/events_gen.go -ts clients/typescript/src/gen/events.ts -html gen/docs/events.html
//go:generate env REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npm --prefix tools/npm exec --no -- redocly build-docs openapi.yaml --inlineBundle --title "artisan-notify REST API" -o gen/docs/api.html
