package main

import (
	"math"
	"slices"
	"time"
)

// Summary describes a latency sample.
type Summary struct {
	N                       int
	Min, P50, P90, P99, Max time.Duration
	Mean                    time.Duration
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of sorted: the smallest value such that at
// least p% of the sample is less than or equal to it. It returns 0 for an empty sample.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// summarize sorts d in place and returns its summary.
func summarize(d []time.Duration) Summary {
	if len(d) == 0 {
		return Summary{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Summary{
		N: len(d), Min: d[0], Max: d[len(d)-1], Mean: sum / time.Duration(len(d)),
		P50: percentile(d, 50), P90: percentile(d, 90), P99: percentile(d, 99),
	}
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// us converts a duration to microseconds.
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// perSecond returns n / d in units per second (0 if d is 0).
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
