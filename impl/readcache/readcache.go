// Package readcache is a read cache in front of a domain.Store: it answers the reads every
// request makes (the authenticated user, the pending count and the first pages of pending
// requests) from memory, and clears what changes, whichever node changed it.
package readcache

import (
	"context"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/domain"
)

// Store is a domain.Store whose reads of users and pending requests are cached for up to a TTL.
// The caller must pass every outbox message to Deliver (the relay does), so that changes made
// on any node clear what they change; the writes made through the Store clear it at once, once
// they succeed.
type Store struct {
	next    domain.Store
	users   *userCache
	pending *pendingCache
}

var _ domain.Store = (*Store)(nil)

// New returns a Store that caches the reads of next for up to ttl.
func New(next domain.Store, ttl time.Duration) *Store {
	return &Store{next: next, users: &userCache{ttl: ttl, entries: make(map[int64]cachedUser)}, pending: newPendingCache(ttl)}
}

// Ping returns the error of next's Ping.
func (s *Store) Ping(ctx context.Context) error { return s.next.Ping(ctx) }

// Register stores the contact through next; a pending request clears the cached pending reads.
func (s *Store) Register(ctx context.Context, c domain.NewContact) (domain.User, error) {
	u, err := s.next.Register(ctx, c)
	if err == nil && u.ArtisanStatus == domain.StatusPending {
		s.pending.clear() // this node's next read sees its own write, before the relay tells every node
	}
	return u, err
}

// Credentials returns next's answer: a login always reads the current password.
func (s *Store) Credentials(ctx context.Context, email string) (int64, string, error) {
	return s.next.Credentials(ctx, email)
}

// User returns the user from the cache, or loads it from next and caches it. It returns next's
// errors (ErrNotFound if there is no such contact); errors are not cached.
func (s *Store) User(ctx context.Context, id int64) (domain.User, error) {
	return s.cachedUser(id, func() (domain.User, error) { return s.next.User(ctx, id) })
}

// cachedUser returns the user from the cache, or loads and caches it.
func (s *Store) cachedUser(id int64, load func() (domain.User, error)) (domain.User, error) {
	now := time.Now()
	u, gen, ok := s.users.get(id, now)
	if ok {
		return u, nil
	}
	u, err := load()
	if err == nil {
		s.users.put(gen, u, now)
	}
	return u, err
}

// PendingRequests returns the page from the cache, or reads it from next and caches it.
func (s *Store) PendingRequests(ctx context.Context, limit int32) ([]domain.ArtisanRequest, int64, error) {
	now := time.Now()
	if reqs, total, ok := s.pending.getPage(limit, now); ok {
		return reqs, total, nil
	}
	gen := s.pending.generation()
	reqs, total, err := s.next.PendingRequests(ctx, limit)
	if err == nil {
		s.pending.putPage(gen, limit, reqs, total, now)
	}
	return reqs, total, err
}

// Requests reads through to next: pages of searches and history are not cached.
func (s *Store) Requests(ctx context.Context, q domain.RequestQuery) (domain.RequestPage, error) {
	return s.next.Requests(ctx, q)
}

// CountPending returns the count from the cache, or reads it from next and caches it.
func (s *Store) CountPending(ctx context.Context) (int64, error) {
	now := time.Now()
	if n, ok := s.pending.getCount(now); ok {
		return n, nil
	}
	gen := s.pending.generation()
	n, err := s.next.CountPending(ctx)
	if err == nil {
		s.pending.putCount(gen, n, now)
	}
	return n, err
}

// Approve approves through next, then clears the pending reads and the applicant's user.
func (s *Store) Approve(ctx context.Context, id, decidedBy int64) (domain.Decision, error) {
	d, err := s.next.Approve(ctx, id, decidedBy)
	if err == nil {
		s.decided(id)
	}
	return d, err
}

// Reject rejects through next, then clears the pending reads and the applicant's user.
func (s *Store) Reject(ctx context.Context, id, decidedBy int64, reason *string) (domain.Decision, error) {
	d, err := s.next.Reject(ctx, id, decidedBy, reason)
	if err == nil {
		s.decided(id)
	}
	return d, err
}

// decided clears what a decision on contact id changes: this node's next read sees its own
// write, before the relay tells every node.
func (s *Store) decided(id int64) {
	s.pending.clear()
	s.users.drop(id)
}

// RevokeTokens revokes through next, then drops the contact's cached user.
func (s *Store) RevokeTokens(ctx context.Context, email string) (int64, error) {
	id, err := s.next.RevokeTokens(ctx, email)
	if err == nil {
		s.users.drop(id) // this node's requests see the change at once; other nodes through the relay
	}
	return id, err
}

// Deliver implements the relay's Deliverer: an artisan-request event clears the pending reads,
// and a message about a contact (its decision, a change of its rights or tokens, on any node)
// drops that contact's cached user. It never fails.
func (s *Store) Deliver(_ context.Context, m events.Message) error {
	var id int64
	switch m.Event {
	case events.EventInternalUserChanged:
		p, err := events.DecodeInternalUserChanged(m)
		if err != nil {
			return nil
		}
		id = p.ContactID
	case events.EventArtisanRequestApproved:
		s.pending.clear()
		p, _ := events.DecodeArtisanRequestApproved(m)
		id = p.ContactID
	case events.EventArtisanRequestRejected:
		s.pending.clear()
		p, _ := events.DecodeArtisanRequestRejected(m)
		id = p.ContactID
	case events.EventUserRightsChanged:
		return nil // internal:user-changed, in the same transaction, dropped the user
	default:
		s.pending.clear()
		return nil
	}
	if id > 0 {
		s.users.drop(id)
	}
	return nil
}
