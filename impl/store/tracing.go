package store

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/tracing"
)

// endSpan ends the span of a store operation: the domain's answers (not found, already decided,
// email taken) are recorded as its outcome, anything else as its error.
func endSpan(span trace.Span, err error) {
	for _, answer := range []error{domain.ErrNotFound, domain.ErrConflict, domain.ErrEmailTaken} {
		if errors.Is(err, answer) {
			span.SetAttributes(attribute.String("artisan_notify.outcome", answer.Error()))
			err = nil
			break
		}
	}
	tracing.End(span, err)
}
