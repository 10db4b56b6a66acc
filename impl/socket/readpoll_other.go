//go:build !linux

package socket

import "errors"

// readPoller is Linux's (epoll) only: elsewhere every websocket has a reader goroutine.
type readPoller struct{}

// pollee is a connection watched by a readPoller.
type pollee interface{ readable() }

func newReadPoller() (*readPoller, error) { return nil, errors.New("no read poller on this system") }

func (*readPoller) watch(int, pollee) error { return errors.New("no read poller on this system") }
func (*readPoller) rearm(int) error         { return nil }
func (*readPoller) forget(int, pollee)      {}
func (*readPoller) close()                  {}
