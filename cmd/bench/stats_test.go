package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", []time.Duration{7}, 99, 7},
		{"p50 of 1..100", hundred, 50, 50},
		{"p99 of 1..100", hundred, 99, 99},
		{"p100 is the max", hundred, 100, 100},
		{"tiny p is the min", hundred, 0.001, 1},
		{"p50 of four: nearest rank 2", []time.Duration{10, 20, 30, 40}, 50, 20},
		{"p99 of four: the max", []time.Duration{10, 20, 30, 40}, 99, 40},
		{"p75 of four", []time.Duration{10, 20, 30, 40}, 75, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	d := []time.Duration{5 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond,
		4 * time.Millisecond}
	s := summarize(d)
	want := Summary{N: 5, Min: time.Millisecond, P50: 3 * time.Millisecond, P90: 5 * time.Millisecond,
		P99: 5 * time.Millisecond, Max: 5 * time.Millisecond, Mean: 3 * time.Millisecond}
	if s != want {
		t.Errorf("summarize = %+v, want %+v", s, want)
	}
	if (summarize(nil) != Summary{}) {
		t.Error("summarize(nil) is not the zero Summary")
	}
}

func TestPerSecond(t *testing.T) {
	if got := perSecond(500, 2*time.Second); got != 250 {
		t.Errorf("perSecond(500, 2s) = %v, want 250", got)
	}
	if got := perSecond(5, 0); got != 0 {
		t.Errorf("perSecond(5, 0) = %v, want 0", got)
	}
}
