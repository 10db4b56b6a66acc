//go:build !faults

package app

import (
	"log/slog"

	"github.com/artisan-notify/artisan-notify/gen/events"
)

// faultHooks returns nil: the shipped binary has no fault injection (see faults_on.go, built with
// -tags faults for the fault tests).
func faultHooks(func(string) string, *slog.Logger) func(events.Message) { return nil }
