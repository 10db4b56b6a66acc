package testdb

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Statements records the SQL of the statements a pool's connections run: set it as the pool's
// ConnConfig.Tracer. Safe for concurrent use.
type Statements struct {
	mu  sync.Mutex
	sql []string
}

// TraceQueryStart implements pgx.QueryTracer.
func (s *Statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sql = append(s.sql, data.SQL)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (s *Statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Take returns the statements run since the last Take, oldest first, and forgets them.
func (s *Statements) Take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sql
	s.sql = nil
	return out
}

// Last returns the latest statement whose SQL contains substr, "" if none.
func (s *Statements) Last(substr string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range slices.Backward(s.sql) {
		if strings.Contains(q, substr) {
			return q
		}
	}
	return ""
}
