package socket

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
)

// readPoller tells a connection when it has something to read, from one goroutine for the whole
// process (epoll), so that an idle websocket holds no goroutine of its own: its reader is a
// goroutine started when data arrives, which reads one message and ends.
//
// Each connection is registered one-shot: after an event it is disarmed until its reader
// re-arms it (rearm), so that at most one reader per connection runs at a time. Re-arming a
// connection that has data waiting reports it at once (epoll evaluates readiness then), so
// nothing is missed between the reader's end and the re-arm. A closed descriptor leaves the
// epoll set by itself; the table entry is removed by forget, and an entry for a descriptor
// number that was closed and reused is replaced by the new connection's watch.
type readPoller struct {
	epfd int
	wake int // an eventfd: written by close to end run

	mu    sync.Mutex
	conns map[int32]pollee // by descriptor: what to tell when it is readable
	done  bool
}

// pollee is a connection watched by a readPoller.
type pollee interface {
	// readable runs when the connection has data to read (or was closed by its peer).
	readable()
}

const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// newReadPoller starts a poller; close stops it.
func newReadPoller() (*readPoller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	wake, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		_ = syscall.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", errno)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(wake)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, int(wake), &ev); err != nil {
		_ = syscall.Close(epfd)
		_ = syscall.Close(int(wake))
		return nil, fmt.Errorf("epoll: %w", err)
	}
	p := &readPoller{epfd: epfd, wake: int(wake), conns: map[int32]pollee{}}
	go p.run()
	return p, nil
}

// watch calls c.readable (on a goroutine of its own) when fd is readable, once: then rearm.
func (p *readPoller) watch(fd int, c pollee) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return errors.New("poller closed")
	}
	ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll add: %w", err)
	}
	p.conns[int32(fd)] = c
	return nil
}

// rearm reports fd again the next time it is readable (at once if it is).
func (p *readPoller) rearm(fd int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done { // the epoll descriptor is closed, or about to be
		return errors.New("poller closed")
	}
	ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(fd)}
	return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, fd, &ev)
}

// forget removes fd, before it is closed; a no-op unless c is still fd's entry.
func (p *readPoller) forget(fd int, c pollee) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.conns[int32(fd)]; ok && cur == c {
		delete(p.conns, int32(fd))
		if !p.done {
			_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
		}
	}
}

// close stops the poller; connections still watched are no longer reported.
func (p *readPoller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	one := [8]byte{1}
	_, _ = syscall.Write(p.wake, one[:])
}

func (p *readPoller) run() {
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			break
		}
		p.mu.Lock()
		if p.done {
			p.mu.Unlock()
			break
		}
		for _, ev := range events[:n] {
			if c := p.conns[ev.Fd]; c != nil {
				go c.readable()
			}
		}
		p.mu.Unlock()
	}
	_ = syscall.Close(p.epfd)
	_ = syscall.Close(p.wake)
}
