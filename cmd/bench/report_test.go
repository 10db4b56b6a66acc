package main

import (
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	rep := &Report{Machine: "test box", Ours: "go", Theirs: "node", Targets: []*TargetResult{
		{Name: "go", Metrics: []Metric{
			{Key: "rest.count.rps", Label: "REST count: throughput", Unit: "req/s", Value: 9000},
			{Key: "rest.count.p99", Label: "REST count: p99", Unit: "ms", Value: 10},
			{Key: "capacity.rss_socket", Label: "capacity: RSS per idle socket", Unit: "KB", Value: 7.25},
			{Key: "register.hash", Label: "registration: password hashing", Text: "argon2id m=19456"},
			{Key: "only.ours", Label: "only ours", Unit: "x", Value: 1},
		}, Checks: []Check{{Name: "a", OK: true}, {Name: "b", OK: false, Detail: "2 missed"}}},
		{Name: "node", Metrics: []Metric{
			{Key: "rest.count.rps", Label: "REST count: throughput", Unit: "req/s", Value: 800},
			{Key: "rest.count.p99", Label: "REST count: p99", Unit: "ms", Value: 129},
			{Key: "register.hash", Label: "registration: password hashing", Text: "bcrypt cost 10"},
			{Key: "only.theirs", Label: "only theirs", Unit: "x", Value: 0.5},
		}, Checks: []Check{{Name: "a", OK: true}}},
	}}
	var sb strings.Builder
	rep.Markdown(&sb)
	want := `Machine: test box

| metric | unit | go | node | go/node | target | pass |
|---|---|--:|--:|--:|---|---|
| REST count: throughput | req/s | 9000 | 800 | 11.25x | >= 10x | ok |
| REST count: p99 | ms | 10 | 129 | 0.08x | <= 0.2x | ok |
| capacity: RSS per idle socket | KB | 7.25 | - |  | <= 11 | ok |
| registration: password hashing |  | argon2id m=19456 | bcrypt cost 10 |  |  |  |
| only ours | x | 1 | - |  |  |  |
| only theirs | x | - | 0.5 |  |  |  |

Targets met: 3 of 3 judged (go against node).
Correctness go: 1 of 2 checks passed.
  - FAIL b: 2 missed
Correctness node: 1 of 1 checks passed.
`
	if got := sb.String(); got != want {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, want)
	}
}

func TestGoals(t *testing.T) {
	tests := []struct {
		key          string
		ours, theirs float64
		pass, judged bool
	}{
		{"rest.list.rps", 6300, 630, true, true},
		{"rest.list.rps", 6299, 630, false, true},
		{"decisions.ops", 3000, 776, false, true},
		{"fanout.10000.p99", 30, 62, true, true},
		{"fanout.2000.cpu_event", 18, 32.5, false, true},
		{"capacity.rss_socket", 11.5, 0, false, true},
		{"capacity.cpu_connect", 10, 0, false, false}, // no denominator
		{"fanout.2000.max", 1, 2, false, false},       // no goal
	}
	for _, tt := range tests {
		pass, judged := goalFor(tt.key).pass(tt.ours, tt.theirs, true, tt.theirs != 0)
		if pass != tt.pass || judged != tt.judged {
			t.Errorf("%s %v/%v: pass %v judged %v, want %v %v", tt.key, tt.ours, tt.theirs, pass, judged, tt.pass, tt.judged)
		}
	}
}

func TestOneTargetHasNoRatios(t *testing.T) {
	rep := &Report{Machine: "m", Ours: "node", Theirs: "node", Targets: []*TargetResult{{Name: "node", Metrics: []Metric{
		{Key: "rest.count.rps", Label: "REST count: throughput", Unit: "req/s", Value: 800},
		{Key: "capacity.rss_socket", Label: "capacity: RSS", Unit: "KB", Value: 18.4},
	}}}}
	rows := rep.rows()
	if rows[0].Goal != "" || rows[0].Pass != "" || rows[0].Ratio != "" {
		t.Errorf("ratio goal judged with one target: %+v", rows[0])
	}
	if rows[1].Pass != "FAIL" {
		t.Errorf("absolute goal not judged: %+v", rows[1])
	}
}

func TestFormatNum(t *testing.T) {
	for v, want := range map[float64]string{12345.6: "12346", 123.4: "123", 12.34: "12.3", 1.234: "1.23",
		0.01234: "0.0123", 7: "7", 0: "0"} {
		if got := formatNum(v); got != want {
			t.Errorf("formatNum(%v) = %q, want %q", v, got, want)
		}
	}
}
