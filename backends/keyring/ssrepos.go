package keyring

import (
	"context"
	"errors"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/dstackai/dstack-secrets/secrets"
)

// repositories lists the repositories of the project: one SearchItems for
// the items of the service and project (every repository's), then their
// attributes, which hold each item's repository and name; no secret is
// read.
func (s *secretService) repositories(ctx context.Context) (map[string]int, error) {
	var items []dbus.ObjectPath
	query := map[string]string{"xdg:schema": ssSchema, "service": s.attrs["service"], "project": s.scope.Project}
	if err := s.conn.Object(ssBusName, s.collection).CallWithContext(ctx, ssCollection+".SearchItems", 0, query).Store(&items); err != nil {
		return nil, ssError("searching collection "+s.collName, err)
	}
	attrs, err := s.attributesOf(ctx, items)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, a := range attrs {
		if a["project"] == s.scope.Project && secrets.ValidateName(a["name"]) == nil {
			out[a["repository"]]++
		}
	}
	return out, nil
}

// attributesOf returns the attributes of items, read in batches of
// pipelined calls; an item deleted meanwhile is left out.
func (s *secretService) attributesOf(ctx context.Context, items []dbus.ObjectPath) ([]map[string]string, error) {
	out := make([]map[string]string, 0, len(items))
	for start := 0; start < len(items); start += ssMaxPending {
		batch, err := s.attributeBatch(ctx, items[start:min(len(items), start+ssMaxPending)])
		if err != nil {
			return nil, err
		}
		out = append(out, batch...)
	}
	return out, nil
}

// attributeBatch reads the attributes of items with pipelined calls. One
// batch at a time is in flight per connection.
func (s *secretService) attributeBatch(ctx context.Context, items []dbus.ObjectPath) ([]map[string]string, error) {
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	calls := make([]*dbus.Call, len(items))
	for i, it := range items {
		calls[i] = s.conn.Object(ssBusName, it).GoWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, nil, ssItem, "Attributes")
	}
	var out []map[string]string
	for _, c := range calls {
		select {
		case <-c.Done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var v dbus.Variant
		if err := c.Store(&v); err != nil {
			var de dbus.Error
			if errors.As(err, &de) && strings.Contains(de.Name, "UnknownObject") {
				continue // deleted since the search
			}
			return nil, ssError("reading item attributes", err)
		}
		attrs, _ := v.Value().(map[string]string)
		out = append(out, attrs)
	}
	return out, nil
}
