package store

import "context"

// UserLoadedThen is User through the read cache, with then run after the database read and
// before the result is cached: a test interleaves a change with a load in flight.
func (s *Store) UserLoadedThen(ctx context.Context, id int64, then func()) (User, error) {
	return s.cachedUser(id, func() (User, error) {
		u, err := s.loadUser(ctx, id)
		then()
		return u, err
	})
}
