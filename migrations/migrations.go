// Package migrations holds the ordered SQL migrations (the schema sqlc reads), embedded in the binary.
package migrations

import "embed"

// FS holds every migration file, in goose's SQL format ("-- +goose Up", "-- +goose Down",
// "-- +goose StatementBegin" around a statement holding semicolons), applied in the order of the
// number that starts the file name: 0003_name.sql comes after 0002_*.sql.
//
//go:embed *.sql
var FS embed.FS
