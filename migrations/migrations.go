// Package migrations holds the ordered SQL migrations (the schema sqlc reads), embedded in the binary.
package migrations

import "embed"

// FS holds every migration file, applied in file-name order (zero-padded numbers).
//
//go:embed *.sql
var FS embed.FS
