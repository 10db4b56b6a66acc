package main

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestSheddingIsA503WithRetryAfter(t *testing.T) {
	for _, c := range []struct {
		st       int
		err      error
		wait     time.Duration
		tryAgain bool
	}{
		{503, &statusError{Status: 503, RetryAfter: 2 * time.Second}, 2 * time.Second, true},
		{503, fmt.Errorf("register: %w", &statusError{Status: 503, RetryAfter: time.Minute}), 5 * time.Second, true}, // capped
		{503, &statusError{Status: 503}, 0, false},                                                                   // no Retry-After: a failure
		{500, &statusError{Status: 500, RetryAfter: time.Second}, 0, false},
		{503, errors.New("connection reset"), 0, false},
		{201, nil, 0, false},
	} {
		wait, again := shedding(c.st, c.err)
		if wait != c.wait || again != c.tryAgain {
			t.Errorf("shedding(%d, %v) = %v, %v; want %v, %v", c.st, c.err, wait, again, c.wait, c.tryAgain)
		}
	}
}
