package socket

import (
	"sync"
	"time"
)

// timers runs the timers of every socket of the process (heartbeats, connect timeouts, token
// expiries) from one goroutine and one runtime timer: a timer is an entry in a min-heap of
// deadlines, 40 bytes, where time.AfterFunc costs a runtime timer per socket and the library's
// timeouts a goroutine (2 KB of stack) per socket.
//
// A timer's func runs on the timers goroutine: it must not block (it starts a goroutine for
// anything that may, like closing a session).
type timers struct {
	mu    sync.Mutex
	heap  []*timer
	next  time.Time // when t fires; zero: not armed
	t     *time.Timer
	wake  chan struct{}
	done  chan struct{}
	ended chan struct{}
}

// timer is one timer of a timers; its zero value with f set is stopped.
type timer struct {
	at time.Time
	i  int // index in the heap, -1 (or 0 with at zero) when not scheduled
	f  func()
}

func newTimers() *timers {
	ts := &timers{wake: make(chan struct{}, 1), done: make(chan struct{}), ended: make(chan struct{})}
	ts.t = time.NewTimer(time.Hour)
	ts.t.Stop()
	go ts.run()
	return ts
}

// schedule (re)arms t to run its func d from now.
func (ts *timers) schedule(t *timer, d time.Duration) {
	at := time.Now().Add(d)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.scheduledLocked(t) {
		t.at = at
		ts.fix(t.i)
	} else {
		t.at = at
		t.i = len(ts.heap)
		ts.heap = append(ts.heap, t)
		ts.up(t.i)
	}
	if ts.heap[0] == t && (ts.next.IsZero() || at.Before(ts.next)) {
		select {
		case ts.wake <- struct{}{}:
		default:
		}
	}
}

// stop disarms t; it reports whether t was scheduled (its func will not run).
func (ts *timers) stop(t *timer) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.scheduledLocked(t) {
		return false
	}
	ts.remove(t.i)
	return true
}

// scheduled reports whether t is armed.
func (ts *timers) scheduled(t *timer) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.scheduledLocked(t)
}

func (ts *timers) scheduledLocked(t *timer) bool {
	return t.i >= 0 && t.i < len(ts.heap) && ts.heap[t.i] == t
}

// len returns the number of armed timers.
func (ts *timers) len() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.heap)
}

// close stops the goroutine; armed timers never fire.
func (ts *timers) close() {
	select {
	case <-ts.done:
	default:
		close(ts.done)
	}
	<-ts.ended
}

func (ts *timers) run() {
	defer close(ts.ended)
	var due []*timer
	for {
		ts.mu.Lock()
		now := time.Now()
		for len(ts.heap) > 0 && !ts.heap[0].at.After(now) {
			t := ts.heap[0]
			ts.remove(0)
			due = append(due, t)
		}
		ts.next = time.Time{}
		if len(ts.heap) > 0 {
			ts.next = ts.heap[0].at
			ts.t.Reset(ts.next.Sub(now))
		}
		ts.mu.Unlock()
		for i, t := range due {
			t.f()
			due[i] = nil
		}
		due = due[:0]
		select {
		case <-ts.t.C:
		case <-ts.wake:
			ts.t.Stop()
		case <-ts.done:
			ts.t.Stop()
			return
		}
	}
}

// The heap, ordered by at (container/heap's algorithms, on *timer without interface calls).

func (ts *timers) less(i, j int) bool { return ts.heap[i].at.Before(ts.heap[j].at) }

func (ts *timers) swap(i, j int) {
	h := ts.heap
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}

func (ts *timers) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !ts.less(j, i) {
			break
		}
		ts.swap(i, j)
		j = i
	}
}

func (ts *timers) down(i0 int) bool {
	i, n := i0, len(ts.heap)
	for {
		j := 2*i + 1
		if j >= n || j < 0 {
			break
		}
		if j2 := j + 1; j2 < n && ts.less(j2, j) {
			j = j2
		}
		if !ts.less(j, i) {
			break
		}
		ts.swap(i, j)
		i = j
	}
	return i > i0
}

func (ts *timers) fix(i int) {
	if !ts.down(i) {
		ts.up(i)
	}
}

func (ts *timers) remove(i int) {
	n := len(ts.heap) - 1
	t := ts.heap[i]
	if i != n {
		ts.swap(i, n)
	}
	ts.heap[n] = nil
	ts.heap = ts.heap[:n]
	if i != n {
		ts.fix(i)
	}
	t.i = -1
	if cap(ts.heap) > 64 && len(ts.heap) < cap(ts.heap)/4 { // give back what a crowd left
		ts.heap = append([]*timer(nil), ts.heap...)
	}
}
