package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// Metric is one measured figure of one target.
type Metric struct {
	Key   string  `json:"key"` // stable id, e.g. "rest.count.rps"; goals are keyed by it
	Label string  `json:"label"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
	Text  string  `json:"text,omitempty"` // a non-numeric figure (e.g. hashing parameters): shown instead of Value
}

// Check is one correctness check; the smoke run fails if any check fails.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// TargetResult is everything measured on one target.
type TargetResult struct {
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	PID     int      `json:"pid"`
	Metrics []Metric `json:"metrics"`
	Checks  []Check  `json:"checks"`
}

func (r *TargetResult) add(key, label, unit string, v float64) {
	r.Metrics = append(r.Metrics, Metric{Key: key, Label: label, Unit: unit, Value: v})
}

func (r *TargetResult) addText(key, label, text string) {
	r.Metrics = append(r.Metrics, Metric{Key: key, Label: label, Text: text})
}

func (r *TargetResult) check(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

func (r *TargetResult) failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// goal is a target from the issue: a bound on ours/theirs, or on our absolute value.
type goal struct {
	RatioMin float64 `json:"ratio_min,omitempty"` // ours/theirs >= RatioMin
	RatioMax float64 `json:"ratio_max,omitempty"` // ours/theirs <= RatioMax
	AbsMax   float64 `json:"abs_max,omitempty"`   // ours <= AbsMax
	set      bool
}

func (g goal) String() string {
	switch {
	case g.RatioMin > 0:
		return fmt.Sprintf(">= %gx", g.RatioMin)
	case g.RatioMax > 0:
		return fmt.Sprintf("<= %gx", g.RatioMax)
	case g.set:
		return fmt.Sprintf("<= %g", g.AbsMax)
	}
	return ""
}

// pass reports whether the goal holds; ok is false if it cannot be judged (missing value).
func (g goal) pass(ours, theirs float64, haveOurs, haveTheirs bool) (pass, ok bool) {
	switch {
	case g.RatioMin > 0 || g.RatioMax > 0:
		if !haveOurs || !haveTheirs || theirs == 0 {
			return false, false
		}
		r := ours / theirs
		if g.RatioMin > 0 {
			return r >= g.RatioMin, true
		}
		return r <= g.RatioMax, true
	case g.set:
		if !haveOurs {
			return false, false
		}
		return ours <= g.AbsMax, true
	}
	return false, false
}

// goalFor returns the target for a metric key (the zero goal if none).
func goalFor(key string) goal {
	switch key {
	case "rest.count.rps", "rest.list.rps":
		return goal{RatioMin: 10, set: true}
	case "rest.count.p99", "rest.list.p99":
		return goal{RatioMax: 0.2, set: true}
	case "decisions.ops":
		return goal{RatioMin: 4, set: true}
	case "decisions.db_cpu_call":
		return goal{RatioMax: 0.5, set: true}
	case "register.ups":
		return goal{RatioMin: 3, set: true}
	case "capacity.rss_socket":
		return goal{AbsMax: 11, set: true}
	case "capacity.cpu_connect":
		return goal{RatioMax: 0.5, set: true}
	}
	if strings.HasPrefix(key, "fanout.") {
		switch {
		case strings.HasSuffix(key, ".p99"):
			return goal{RatioMax: 0.5, set: true}
		case strings.HasSuffix(key, ".cpu_event"):
			return goal{RatioMax: 0.55, set: true}
		}
	}
	return goal{}
}

// Report is the whole run.
type Report struct {
	Machine string          `json:"machine"`
	Load    []string        `json:"load"` // /proc/loadavg before each target: other work on the machine skews figures
	Started time.Time       `json:"started"`
	Command string          `json:"command"`
	Ours    string          `json:"ours"`
	Theirs  string          `json:"theirs"`
	Targets []*TargetResult `json:"targets"`
}

// row is one line of the side-by-side table.
type row struct {
	Key, Label, Unit string
	Cells            []string // one per target
	Ratio, Goal      string
	Pass             string // "ok", "FAIL" or ""
}

// rows lines up the targets' metrics by key, in the order they first appear.
func (rep *Report) rows() []row {
	var order []string
	seen := map[string]Metric{}
	for _, t := range rep.Targets {
		for _, m := range t.Metrics {
			if _, ok := seen[m.Key]; !ok {
				order = append(order, m.Key)
				seen[m.Key] = m
			}
		}
	}
	find := func(name, key string) (Metric, bool) {
		for _, t := range rep.Targets {
			if t.Name != name {
				continue
			}
			for _, m := range t.Metrics {
				if m.Key == key {
					return m, true
				}
			}
		}
		return Metric{}, false
	}
	var out []row
	for _, key := range order {
		m := seen[key]
		r := row{Key: key, Label: m.Label, Unit: m.Unit}
		for _, t := range rep.Targets {
			v, ok := find(t.Name, key)
			switch {
			case !ok:
				r.Cells = append(r.Cells, "-")
			case v.Text != "":
				r.Cells = append(r.Cells, v.Text)
			default:
				r.Cells = append(r.Cells, formatNum(v.Value))
			}
		}
		o, haveO := find(rep.Ours, key)
		th, haveT := find(rep.Theirs, key)
		if haveO && haveT && o.Text == "" && th.Text == "" && th.Value != 0 && rep.Ours != rep.Theirs {
			r.Ratio = fmt.Sprintf("%.2fx", o.Value/th.Value)
		}
		g := goalFor(key)
		if rep.Ours == rep.Theirs && (g.RatioMin > 0 || g.RatioMax > 0) {
			g = goal{} // one target: no ratio to judge
		}
		r.Goal = g.String()
		if pass, ok := g.pass(o.Value, th.Value, haveO && o.Text == "", haveT && th.Text == ""); ok {
			r.Pass = map[bool]string{true: "ok", false: "FAIL"}[pass]
		}
		out = append(out, r)
	}
	return out
}

// formatNum prints about three significant digits, no exponent.
func formatNum(v float64) string {
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1e15:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// Markdown writes the side-by-side table, then the goals met and the failed correctness checks.
func (rep *Report) Markdown(w io.Writer) {
	fmt.Fprintf(w, "Machine: %s\n", rep.Machine)
	for i, l := range rep.Load {
		if i < len(rep.Targets) {
			fmt.Fprintf(w, "Load average before %s: %s\n", rep.Targets[i].Name, l)
		}
	}
	fmt.Fprintln(w)
	head := []string{"metric", "unit"}
	for _, t := range rep.Targets {
		head = append(head, t.Name)
	}
	twoSided := rep.Ours != rep.Theirs
	if twoSided {
		head = append(head, rep.Ours+"/"+rep.Theirs)
	}
	head = append(head, "target", "pass")
	fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
	seps := make([]string, len(head))
	for i := range seps {
		seps[i] = "---"
		if i >= 2 && i < len(head)-2 {
			seps[i] = "--:"
		}
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
	met, judged := 0, 0
	for _, r := range rep.rows() {
		cells := append([]string{r.Label, r.Unit}, r.Cells...)
		if twoSided {
			cells = append(cells, r.Ratio)
		}
		cells = append(cells, r.Goal, r.Pass)
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		if r.Pass != "" {
			judged++
			if r.Pass == "ok" {
				met++
			}
		}
	}
	fmt.Fprintf(w, "\nTargets met: %d of %d judged (%s against %s).\n", met, judged, rep.Ours, rep.Theirs)
	for _, t := range rep.Targets {
		f := t.failed()
		fmt.Fprintf(w, "Correctness %s: %d of %d checks passed.\n", t.Name, len(t.Checks)-len(f), len(t.Checks))
		for _, c := range f {
			fmt.Fprintf(w, "  - FAIL %s: %s\n", c.Name, c.Detail)
		}
	}
}

// writeJSON writes the report to path.
func (rep *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
