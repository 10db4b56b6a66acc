package socket

func pollerEntries(p *readPoller) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}
