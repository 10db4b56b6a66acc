package tests

// Tracing across nodes: one approval (or registration) is one trace, from the REST request on
// one node through its transaction and the outbox row to the relay and the emit on every
// node, exported over OTLP/HTTP to a receiver in the test; with the variable unset nothing is
// exported and nothing is carried.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/impl/otlptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
	"github.com/artisan-notify/artisan-notify/impl/testredis"
)

// tracedNodes starts two nodes on one database and one Redis, with env added to each.
func tracedNodes(t *testing.T, env map[string]string) (dbURL string, a, b *proctest.Server) {
	t.Helper()
	dbURL = testdb.New(t)
	rds := testredis.Start(t)
	start := func(id string) *proctest.Server {
		e := nodeEnv(dbURL, id)
		e["REDIS_URL"] = rds.URL
		e["RATE_LIMIT_AUTH_PER_MINUTE"] = "1000" // shared through Redis, out of the test's way
		for k, v := range env {
			e[k] = v
		}
		return proctest.Start(t, e)
	}
	return dbURL, start("trace-a"), start("trace-b")
}

func TestTracingFollowsAnApprovalToEveryNode(t *testing.T) {
	t.Parallel()
	otlp := otlptest.Start(t)
	_, nodeA, nodeB := tracedNodes(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.URL,
		"OTEL_SERVICE_NAME":           "artisan-notify-test",
		"OTEL_BSP_SCHEDULE_DELAY":     "100", // ms: export at once, the test waits for it
		"OTEL_TRACES_SAMPLER":         "parentbased_always_on",
	})
	for _, n := range []*proctest.Server{nodeA, nodeB} {
		if !strings.Contains(n.Logs(), `"msg":"tracing on"`) {
			t.Fatalf("node does not say tracing is on; log:\n%s", n.Logs())
		}
	}

	pdg := makePDG(t, nodeA)
	c := newClients(t)
	c.open("pdg@a", pdg.Token, nodeA.URL)
	c.open("pdg@b", pdg.Token, nodeB.URL)
	c.waitConnected(1, "pdg@a", "pdg@b")

	// Registration on node B: its trace reaches the PDG's socket on each node.
	artisan := register(t, nodeB.URL, typeArtisan)
	c.waitEvent("pdg@a", evNew, artisan.ID)
	c.waitEvent("pdg@b", evNew, artisan.ID)
	c.open("artisan@b", artisan.Token, nodeB.URL)
	c.waitConnected(1, "artisan@b")

	// Approval on node A: the PDG's sockets on both nodes, and the applicant's on node B.
	mustCall(t, "POST", fmt.Sprintf("%s/api/notifications/artisan-requests/%d/approve", nodeA.URL, artisan.ID), pdg.Token, nil, http.StatusOK)
	for _, id := range []string{"pdg@a", "pdg@b", "artisan@b"} {
		c.waitEvent(id, evApproved, artisan.ID)
	}

	emits := func(spans []otlptest.Span, event string) []otlptest.Span {
		var out []otlptest.Span
		for _, s := range spans {
			if s.Name == "emit "+event {
				out = append(out, s)
			}
		}
		return out
	}
	spans := otlp.Wait(t, waitLong, "both nodes' emit spans of both events", func(spans []otlptest.Span) bool {
		return len(emits(spans, evNew)) >= 2 && len(emits(spans, evApproved)) >= 2
	})

	for _, tc := range []struct {
		operation, store, event, node string
		queries                       []string          // the store span's query spans that write the event
		reached                       map[string]string // sockets reached, by node
	}{
		{"Register", "store.Register", evNew, "trace-b", []string{"InsertOutbox", "COMMIT"}, map[string]string{"trace-a": "1", "trace-b": "1"}},
		// A decision is one statement: the UPDATE and its outbox row (queries/contacts.sql, DecideRequest).
		{"ApproveArtisanRequest", "store.Approve", evApproved, "trace-a", []string{"DecideRequest"}, map[string]string{"trace-a": "1", "trace-b": "2"}},
	} {
		t.Run(tc.operation, func(t *testing.T) {
			op := only(t, spans, func(s otlptest.Span) bool {
				return s.Name == tc.operation && s.Resource["service.instance.id"] == tc.node // the PDG registered on node A
			})
			trace := otlptest.Trace(spans, op.TraceID)
			t.Logf("the trace of %s:\n%s", tc.operation, otlptest.Tree(trace))
			if op.ParentID != "" || op.Resource["service.instance.id"] != tc.node || op.Resource["service.name"] != "artisan-notify-test" {
				t.Errorf("%s span: parent %q, resource %v; want a root on %s of artisan-notify-test", tc.operation, op.ParentID, op.Resource, tc.node)
			}
			if want := map[string]string{"Register": "201", "ApproveArtisanRequest": "200"}[tc.operation]; op.Attrs["http.response.status_code"] != want {
				t.Errorf("%s span: http.response.status_code %q, want %s", tc.operation, op.Attrs["http.response.status_code"], want)
			}
			st := only(t, trace, func(s otlptest.Span) bool { return s.Name == tc.store })
			if st.ParentID != op.SpanID {
				t.Errorf("%s is not a child of %s", tc.store, tc.operation)
			}
			for _, q := range tc.queries {
				if s := only(t, trace, func(s otlptest.Span) bool { return s.Name == q }); s.ParentID != st.SpanID || s.Attrs["db.system.name"] != "postgresql" {
					t.Errorf("query span %s: parent %s, attributes %v; want a postgresql child of %s", q, s.ParentID, s.Attrs, tc.store)
				}
			}
			for node, reached := range tc.reached {
				d := only(t, trace, func(s otlptest.Span) bool {
					return s.Name == "deliver "+tc.event && s.Resource["service.instance.id"] == node
				})
				if d.ParentID != st.SpanID || d.Kind.String() != "SPAN_KIND_CONSUMER" {
					t.Errorf("%s's delivery: parent %s, kind %v; want a consumer child of %s (the outbox row's context)", node, d.ParentID, d.Kind, tc.store)
				}
				if d.Attrs["artisan_notify.node_id"] != node || d.Attrs["artisan_notify.event"] != tc.event ||
					d.Attrs["artisan_notify.outbox.tx"] == "" || !strings.Contains(d.Attrs["artisan_notify.rooms"], "pdg-notifications") {
					t.Errorf("%s's delivery attributes: %v", node, d.Attrs)
				}
				e := only(t, trace, func(s otlptest.Span) bool {
					return s.Name == "emit "+tc.event && s.Resource["service.instance.id"] == node
				})
				if e.ParentID != d.SpanID {
					t.Errorf("%s's emit is not a child of its delivery", node)
				}
				if got := e.Attrs["artisan_notify.sockets_reached"]; got != reached {
					t.Errorf("%s's emit reached %s sockets, want %s", node, got, reached)
				}
			}
		})
	}

	// The log line of the approval carries its trace id.
	approve := only(t, spans, func(s otlptest.Span) bool { return s.Name == "ApproveArtisanRequest" })
	line := logLine(t, nodeA.Logs(), "artisan request approved")
	if line["trace_id"] != approve.TraceID || line["span_id"] == "" {
		t.Errorf("log line %v: want trace_id %s and a span_id", line, approve.TraceID)
	}
}

func TestTracingOffExportsNothing(t *testing.T) {
	t.Parallel()
	otlp := otlptest.Start(t)
	// Node A has no endpoint (OTEL_* settings without one do not turn tracing on); node B has
	// one but the SDK is disabled.
	dbURL := testdb.New(t)
	envA := nodeEnv(dbURL, "off-a")
	envA["OTEL_SERVICE_NAME"], envA["OTEL_TRACES_SAMPLER"] = "artisan-notify-test", "always_on"
	nodeA := proctest.Start(t, envA)
	envB := nodeEnv(dbURL, "off-b")
	envB["OTEL_EXPORTER_OTLP_ENDPOINT"], envB["OTEL_SDK_DISABLED"], envB["OTEL_BSP_SCHEDULE_DELAY"] = otlp.URL, "true", "100"
	nodeB := proctest.Start(t, envB)

	pdg := makePDG(t, nodeA)
	c := newClients(t)
	c.open("pdg@a", pdg.Token, nodeA.URL)
	c.open("pdg@b", pdg.Token, nodeB.URL)
	c.waitConnected(1, "pdg@a", "pdg@b")
	for _, node := range []*proctest.Server{nodeA, nodeB} {
		artisan := register(t, node.URL, typeArtisan)
		mustCall(t, "POST", fmt.Sprintf("%s/api/notifications/artisan-requests/%d/approve", node.URL, artisan.ID), pdg.Token, nil, http.StatusOK)
		for _, id := range []string{"pdg@a", "pdg@b"} {
			c.waitEvent(id, evApproved, artisan.ID)
		}
	}
	time.Sleep(500 * time.Millisecond) // five export intervals of node B, were it exporting
	if n := otlp.Requests(); n != 0 {
		t.Errorf("%d export requests with tracing off", n)
	}
	for _, node := range []*proctest.Server{nodeA, nodeB} {
		if strings.Contains(node.Logs(), `"msg":"tracing on"`) || strings.Contains(node.Logs(), `"trace_id"`) {
			t.Errorf("tracing off, yet the log says it is on or has trace ids:\n%s", node.Logs())
		}
	}
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var carried int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox WHERE trace_context IS NOT NULL").Scan(&carried); err != nil {
		t.Fatal(err)
	}
	if carried != 0 {
		t.Errorf("%d outbox rows carry a trace context with tracing off", carried)
	}
}

// only returns the one span of spans that match, failing the test unless there is exactly one.
func only(t *testing.T, spans []otlptest.Span, match func(otlptest.Span) bool) otlptest.Span {
	t.Helper()
	var found []otlptest.Span
	for _, s := range spans {
		if match(s) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d matching spans, want 1; received:\n%s", len(found), otlptest.Tree(spans))
	}
	return found[0]
}

// logLine returns the JSON log record whose msg is msg, failing the test if there is none.
func logLine(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			return rec
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs)
	return nil
}
