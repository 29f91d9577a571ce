package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The methods of an open store, each one typed entry: its name on the
// wire, its parameters P and result R (JSON objects), what the program does
// with the store it opened (a store returned by secrets.Wrap, so
// validation and the fallbacks of the optional interfaces happen there),
// and, for a method that not every store has, how to tell. The parent's
// store (client.go) calls each with call. Adding a method to the protocol,
// for a new optional interface that secrets.Wrap forwards, is one entry
// here, its line in the methods list and one method of the parent's store.
var (
	mList = method[none, namesResult]{name: "list",
		do: func(ctx context.Context, s secrets.Store, _ none) (namesResult, error) {
			names, err := s.List(ctx)
			return namesResult{names}, err
		}}
	mGet = method[nameParams, valueResult]{name: "get",
		do: func(ctx context.Context, s secrets.Store, p nameParams) (valueResult, error) {
			v, err := s.Get(ctx, p.Name)
			return valueResult{v}, err
		}}
	mSet = method[pairParams, none]{name: "set",
		do: func(ctx context.Context, s secrets.Store, p pairParams) (none, error) {
			return none{}, s.Set(ctx, p.Name, p.Value)
		}}
	mDelete = method[nameParams, none]{name: "delete",
		do: func(ctx context.Context, s secrets.Store, p nameParams) (none, error) {
			return none{}, s.Delete(ctx, p.Name)
		}}
	mCreate = method[pairParams, none]{name: "create",
		do: func(ctx context.Context, s secrets.Store, p pairParams) (none, error) {
			return none{}, s.(secrets.Creator).Create(ctx, p.Name, p.Value)
		}}
	mGetAll = method[none, valuesResult]{name: "get_all",
		do: func(ctx context.Context, s secrets.Store, _ none) (valuesResult, error) {
			all, err := s.(secrets.BulkGetter).GetAll(ctx)
			return valuesResult{all}, err
		}}
	mSetMany = method[manyParams, none]{name: "set_many",
		do: func(ctx context.Context, s secrets.Store, p manyParams) (none, error) {
			return none{}, s.(secrets.BatchWriter).SetMany(ctx, p.Values, p.Overwrite)
		}}
	// locate asks the backend's own store: secrets.Wrap uses Locator for
	// its messages but does not implement it.
	mLocate = method[nameParams, locationResult]{name: "locate",
		do: func(_ context.Context, s secrets.Store, p nameParams) (locationResult, error) {
			return locationResult{secrets.Unwrap(s).(secrets.Locator).Locate(p.Name)}, nil
		},
		has: func(s secrets.Store) bool {
			_, ok := secrets.Unwrap(s).(secrets.Locator)
			return ok
		}}
	// repositories, versions and get_version go through the helpers of
	// package secrets, which answer errors.ErrUnsupported (carried back
	// as such) when the program's backend lacks the interface.
	mRepositories = method[none, countsResult]{name: "repositories",
		do: func(ctx context.Context, s secrets.Store, _ none) (countsResult, error) {
			m, err := secrets.Repositories(ctx, s)
			return countsResult{m}, err
		}}
	mVersions = method[nameParams, versionsResult]{name: "versions",
		do: func(ctx context.Context, s secrets.Store, p nameParams) (versionsResult, error) {
			v, err := secrets.Versions(ctx, s, p.Name)
			return versionsResult{v}, err
		}}
	mGetVersion = method[versionParams, valueResult]{name: "get_version",
		do: func(ctx context.Context, s secrets.Store, p versionParams) (valueResult, error) {
			v, err := secrets.GetVersion(ctx, s, p.Name, p.Version)
			return valueResult{v}, err
		}}
	// close is answered by the server itself (it closes the store once the
	// calls in flight are done, then exits): see serve.
	mClose = method[none, none]{name: "close"}
)

// methods are the store methods a program serves, by name; only a program
// needs them, not every start of the CLI.
var methods = sync.OnceValue(func() map[string]served {
	return index(mList, mGet, mSet, mDelete, mCreate, mGetAll, mSetMany, mLocate, mRepositories, mVersions, mGetVersion, mClose)
})

// Parameter and result types.
type (
	none       struct{}
	nameParams struct {
		Name string `json:"name"`
	}
	pairParams struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	manyParams struct {
		Values    map[string]string `json:"values"`
		Overwrite bool              `json:"overwrite,omitempty"`
	}
	namesResult struct {
		Names []string `json:"names"`
	}
	valueResult struct {
		Value string `json:"value"`
	}
	valuesResult struct {
		Values map[string]string `json:"values"`
	}
	locationResult struct {
		Location string `json:"location"`
	}
	countsResult struct {
		Counts map[string]int `json:"counts"`
	}
	versionsResult struct {
		Versions []secrets.Version `json:"versions"`
	}
	versionParams struct {
		Name    string `json:"name"`
		Version int    `json:"version"`
	}
)

// method is one method of the protocol, with parameters P and result R.
type method[P, R any] struct {
	name string
	// do runs the method in the program.
	do func(ctx context.Context, s secrets.Store, p P) (R, error)
	// has reports whether s supports the method; nil means every store.
	has func(s secrets.Store) bool
}

// served is what the program needs of a method, whatever its types.
type served interface {
	methodName() string
	supports(s secrets.Store) bool
	serve(ctx context.Context, s secrets.Store, params json.RawMessage) (any, error)
}

func (m method[P, R]) methodName() string { return m.name }

func (m method[P, R]) supports(s secrets.Store) bool { return m.has == nil || m.has(s) }

func (m method[P, R]) serve(ctx context.Context, s secrets.Store, params json.RawMessage) (any, error) {
	var p P
	if len(params) > 0 {
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, fmt.Errorf("plugin: malformed parameters of %s: %v", m.name, err)
		}
	}
	r, err := m.do(ctx, s, p)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// call calls the method on the program behind c.
func (m method[P, R]) call(ctx context.Context, c *conn, p P) (R, error) {
	var r R
	err := c.call(ctx, m.name, p, &r)
	return r, err
}

func index(ms ...served) map[string]served {
	out := make(map[string]served, len(ms))
	for _, m := range ms {
		out[m.methodName()] = m
	}
	return out
}
