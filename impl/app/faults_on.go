//go:build faults

package app

import (
	"log/slog"
	"os"

	"github.com/artisan-notify/artisan-notify/gen/events"
)

// faultHooks returns the relay's BeforeDeliver hook of a binary built with -tags faults (the
// fault tests build one): with FAULT_CRASH_BEFORE_EMIT=1 the process exits with status 70 when
// its relay is about to emit a committed event, the crash between commit and emit. Otherwise nil.
func faultHooks(getenv func(string) string, log *slog.Logger) func(events.Message) {
	if getenv("FAULT_CRASH_BEFORE_EMIT") != "1" {
		return nil
	}
	return func(msg events.Message) {
		log.Error("fault injection: exiting between commit and emit", "event", msg.Event)
		os.Exit(70)
	}
}
