package file

import (
	"context"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

var _ secrets.RepositoryLister = (*Store)(nil)

// Repositories implements secrets.RepositoryLister: the project's file
// holds every repository's secrets, so one read of its indexes (no value
// is decoded) gives every repository and how many secrets it holds.
func (s *Store) Repositories(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.view(ctx, func(d *document.Document) error {
		repos, err := d.Repositories()
		if err != nil {
			return err
		}
		for _, r := range repos {
			names, err := d.List(r)
			if err != nil {
				return err
			}
			n := 0
			for _, name := range names {
				if secrets.ValidateName(name) == nil {
					n++
				}
			}
			if n > 0 {
				out[r] = n
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
