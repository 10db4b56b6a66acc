// Package metrics holds the server's Prometheus metrics: HTTP requests, sockets, events, the
// outbox relay and the database pool. Everything is registered on the registry passed to New;
// nothing uses the global default registry.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric of the server.
const Namespace = "artisan_notify"

// Metrics records what one server node does. Its methods are safe for concurrent use; a nil
// *Metrics records nothing.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	emitted      *prometheus.CounterVec
	commitToEmit *prometheus.HistogramVec
}

// New registers the server's metrics, the Go runtime and the process collectors on reg.
// It panics if one of them is already registered there (a programming error).
func New(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "REST requests answered, by OpenAPI operation id (\"unmatched\" when no route matched) and status code.",
		}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Time to answer a REST request, by OpenAPI operation id.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation"}),
		emitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "events_emitted_total",
			Help: "Socket.IO events emitted by this node to its sockets, by event name (one per emit, whatever the number of sockets).",
		}, []string{"event"}),
		commitToEmit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "event_commit_to_emit_seconds",
			Help:    "Time from an event's write in its transaction (the outbox row's created_at) to its emit by this node's relay, by event name.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"event"}),
	}
	reg.MustRegister(m.requests, m.duration, m.emitted, m.commitToEmit,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the registry in the Prometheus text format (for /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4})
}

// Answered records a REST request answered under the OpenAPI operation id operation ("" is
// recorded as "unmatched") with status, in elapsed (api.Observer, through the REST middleware, so
// that the requests it rejects count too).
func (m *Metrics) Answered(operation string, status int, elapsed time.Duration) {
	if m == nil {
		return
	}
	if operation == "" {
		operation = "unmatched"
	}
	m.requests.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(operation).Observe(elapsed.Seconds())
}

// Emitted counts an event emitted to this node's sockets (socket.Observer).
func (m *Metrics) Emitted(event string) {
	if m == nil {
		return
	}
	m.emitted.WithLabelValues(event).Inc()
}

// Delivered records the time from an event's write (createdAt) to its delivery (relay.Observer).
func (m *Metrics) Delivered(event string, createdAt time.Time) {
	if m == nil {
		return
	}
	m.commitToEmit.WithLabelValues(event).Observe(max(time.Since(createdAt).Seconds(), 0))
}

// SocketCounter counts the sockets connected to this node.
type SocketCounter interface {
	CountSockets() (pdg, other int)
}

// Sockets registers the connected sockets gauge, read from c at each scrape.
func (m *Metrics) Sockets(c SocketCounter) {
	m.reg.MustRegister(&socketCollector{c: c, desc: prometheus.NewDesc(Namespace+"_sockets_connected",
		"Sockets connected to this node, by role: pdg (in the pdg-notifications room) or other.", []string{"role"}, nil)})
}

type socketCollector struct {
	c    SocketCounter
	desc *prometheus.Desc
}

func (s *socketCollector) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s *socketCollector) Collect(ch chan<- prometheus.Metric) {
	pdg, other := s.c.CountSockets()
	ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, float64(pdg), "pdg")
	ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, float64(other), "other")
}

// BacklogReader reports the events committed but not yet delivered by this node's relay, and
// the transactions it waits for.
type BacklogReader interface {
	Backlog(ctx context.Context) (events int64, oldest time.Duration, err error)
	// InProgress returns how many transactions the relay saw in progress (on the whole database
	// server, with a transaction id) and waits for, and how long it has seen the oldest of them.
	InProgress() (transactions int, oldest time.Duration)
}

// Outbox registers the outbox backlog and relay lag gauges, read from b at each scrape (a query
// bounded to 2 s; on failure these two gauges are left out of the scrape), and the gauges of the
// transactions the relay waits for (read from memory).
func (m *Metrics) Outbox(b BacklogReader) {
	m.reg.MustRegister(&backlogCollector{b: b,
		events: prometheus.NewDesc(Namespace+"_outbox_backlog_events",
			"Committed outbox events this node's relay has not delivered yet.", nil, nil),
		lag: prometheus.NewDesc(Namespace+"_relay_lag_seconds",
			"Age of the oldest committed outbox event this node's relay has not delivered yet (0 when none).", nil, nil),
		open: prometheus.NewDesc(Namespace+"_relay_open_transactions",
			"Transactions (of any session on the database server, with a transaction id) that this node's relay saw in progress at its last read; "+
				"the events they wrote, if any, are delivered when they commit.", nil, nil),
		oldestOpen: prometheus.NewDesc(Namespace+"_relay_oldest_open_transaction_seconds",
			"How long this node's relay has seen the oldest of those transactions in progress (0 when none): "+
				"a lower bound of its age; its events, if any, and vacuum wait for it.", nil, nil),
	})
}

type backlogCollector struct {
	b                             BacklogReader
	events, lag, open, oldestOpen *prometheus.Desc
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.lag
	ch <- c.open
	ch <- c.oldestOpen
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	n, oldest := c.b.InProgress()
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldestOpen, prometheus.GaugeValue, oldest.Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	events, age, err := c.b.Backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.events, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(events))
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, age.Seconds())
}

// PoolStater is a database pool (*pgxpool.Pool).
type PoolStater interface {
	Stat() *pgxpool.Stat
}

// Pool registers the database pool's statistics, read from p at each scrape.
func (m *Metrics) Pool(p PoolStater) {
	m.reg.MustRegister(newPoolCollector(p))
}

type poolMetric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(*pgxpool.Stat) float64
}

type poolCollector struct {
	p       PoolStater
	metrics []poolMetric
}

func newPoolCollector(p PoolStater) *poolCollector {
	def := func(name, help string, typ prometheus.ValueType, value func(*pgxpool.Stat) float64) poolMetric {
		return poolMetric{prometheus.NewDesc(Namespace+"_db_pool_"+name, help, nil, nil), typ, value}
	}
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return &poolCollector{p: p, metrics: []poolMetric{
		def("max_conns", "Maximum size of the database pool.", g, func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) }),
		def("total_conns", "Connections open in the pool (idle, acquired and being built).", g, func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) }),
		def("acquired_conns", "Connections in use.", g, func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }),
		def("idle_conns", "Idle connections.", g, func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }),
		def("constructing_conns", "Connections being opened.", g, func(s *pgxpool.Stat) float64 { return float64(s.ConstructingConns()) }),
		def("acquires_total", "Successful connection acquisitions.", c, func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) }),
		def("empty_acquires_total", "Acquisitions that had to wait for a connection.", c, func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) }),
		def("canceled_acquires_total", "Acquisitions canceled by their context.", c, func(s *pgxpool.Stat) float64 { return float64(s.CanceledAcquireCount()) }),
		def("acquire_wait_seconds_total", "Total time spent acquiring connections.", c, func(s *pgxpool.Stat) float64 { return s.AcquireDuration().Seconds() }),
		def("new_conns_total", "Connections opened.", c, func(s *pgxpool.Stat) float64 { return float64(s.NewConnsCount()) }),
	}}
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range p.metrics {
		ch <- m.desc
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.p.Stat()
	for _, m := range p.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.value(s))
	}
}
