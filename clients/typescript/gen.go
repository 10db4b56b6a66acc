// Package typescript holds the go:generate line that regenerates the SDK's REST types
// (src/gen/api.ts, openapi-typescript from ../../openapi.yaml). Its Socket.IO event types
// (src/gen/events.ts) are written by cmd/asyncgen from the root's gen.go.
package typescript

//go:generate npm --prefix . run --silent gen
