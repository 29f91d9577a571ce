package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// memBulk is mem with a bulk read, like the file backend.
type memBulk struct{ *mem }

func (m memBulk) GetAll(ctx context.Context) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.data))
	for k, v := range m.data {
		out[k] = v
	}
	return out, nil
}

// TestMaxSecrets: a write that would add a secret past MaxSecrets fails
// and writes nothing; replacing and deleting still work.
func TestMaxSecrets(t *testing.T) {
	ctx := context.Background()
	m := newMem()
	for i := range secrets.MaxSecrets {
		m.data[fmt.Sprintf("S%05d", i)] = "v"
	}
	s := secrets.Wrap(m, secrets.Info{Backend: "mem", Scope: secrets.Scope{Project: "p", Repository: "github.com/org/repo"}})
	for what, err := range map[string]error{
		"Set":     s.Set(ctx, "NEW", "v"),
		"Create":  secrets.Create(ctx, s, "NEW", "v"),
		"SetMany": secrets.SetMany(ctx, s, map[string]string{"S00001": "w", "NEW": "v"}, true),
	} {
		if !errors.Is(err, secrets.ErrLimit) || !strings.Contains(err.Error(), "10000 secrets per repository") || !strings.Contains(err.Error(), "nothing was written") {
			t.Errorf("%s past the limit: %v", what, err)
		}
	}
	if _, ok := m.data["NEW"]; ok || m.data["S00001"] != "v" {
		t.Errorf("written despite the limit")
	}
	if err := s.Set(ctx, "S00001", "replaced"); err != nil {
		t.Errorf("replacing at the limit: %v", err)
	}
	if err := s.Delete(ctx, "S00002"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "NEW", "v"); err != nil {
		t.Errorf("adding below the limit: %v", err)
	}
}

// TestMaxStoreSize: a write that would grow the names and values of a
// repository past MaxStoreSize fails and writes nothing, whether the batch
// alone is too big or the store already holds most of it (read with the
// backend's bulk read).
func TestMaxStoreSize(t *testing.T) {
	ctx := context.Background()
	big := strings.Repeat("x", secrets.MaxValueSize)
	batch := func(prefix string, n int) map[string]string {
		v := map[string]string{}
		for i := range n {
			v[fmt.Sprintf("%s%03d", prefix, i)] = big
		}
		return v
	}
	m := newMem()
	s := secrets.Wrap(memBulk{m}, secrets.Info{})
	if err := secrets.SetMany(ctx, s, batch("A", 260), false); !errors.Is(err, secrets.ErrLimit) || !strings.Contains(err.Error(), "16.0 MiB") {
		t.Errorf("a batch over the limit: %v", err)
	}
	if len(m.data) != 0 {
		t.Fatalf("written despite the limit")
	}
	if err := secrets.SetMany(ctx, s, batch("A", 200), false); err != nil {
		t.Fatal(err)
	}
	if err := secrets.SetMany(ctx, s, batch("B", 60), false); !errors.Is(err, secrets.ErrLimit) {
		t.Errorf("a batch that fills the store past the limit: %v", err)
	}
	if err := s.Set(ctx, "B000", big); err != nil {
		t.Errorf("one more value below the limit: %v", err)
	}
	if len(m.data) != 201 {
		t.Errorf("%d secrets, want 201", len(m.data))
	}
}

// TestCheckEnvironSize: an environment over the system's limit is refused
// with its size, the limit and the excess; one variable over the limit
// per string is named.
func TestCheckEnvironSize(t *testing.T) {
	if err := secrets.CheckEnvironSize([]string{"true"}, os.Environ()); err != nil {
		t.Fatalf("the test's own environment: %v", err)
	}
	env := make([]string, 0, 200000)
	for i := range 200000 {
		env = append(env, fmt.Sprintf("SECRET_%06d=%s", i, "0123456789abcdef0123456789abcdef"))
	}
	err := secrets.CheckEnvironSize([]string{"true"}, env)
	if err == nil {
		t.Skip("this system has no known limit")
	}
	if !errors.Is(err, secrets.ErrLimit) || !strings.Contains(err.Error(), "200000 variables") || !strings.Contains(err.Error(), "too many") {
		t.Errorf("too big: %v", err)
	}
	long := "LONG=" + strings.Repeat("x", 1<<20)
	if err := secrets.CheckEnvironSize(nil, []string{long}); !errors.Is(err, secrets.ErrLimit) || strings.Contains(err.Error(), "xxx") {
		t.Errorf("one long variable: %v", err)
	}
}

// listCounter counts List calls.
type listCounter struct {
	*mem
	lists int
}

func (l *listCounter) List(ctx context.Context) ([]string, error) {
	l.lists++
	return l.mem.List(ctx)
}

// TestCapacityCost: the limits cost one List for a store's first write,
// not one per write.
func TestCapacityCost(t *testing.T) {
	ctx := context.Background()
	l := &listCounter{mem: newMem()}
	s := secrets.Wrap(l, secrets.Info{})
	for i := range 100 {
		if err := s.Set(ctx, fmt.Sprintf("S%03d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	if l.lists != 1 {
		t.Errorf("100 writes listed the store %d times, want 1", l.lists)
	}
}

func TestMaxSecretsOption(t *testing.T) {
	cfg, err := secrets.ParseConfig([]byte("projects:\n  big:\n    backend: file\n    max_secrets: 3\n"))
	if err != nil || cfg.Projects["big"].MaxSecrets != 3 {
		t.Fatalf("max_secrets: %v, %+v", err, cfg.Projects["big"])
	}
	if _, err := secrets.ParseConfig([]byte("projects:\n  big:\n    backend: file\n    max_secrets: lots\n")); !errors.Is(err, secrets.ErrInvalidConfig) {
		t.Errorf("max_secrets: lots: %v", err)
	}
	ctx := context.Background()
	s := secrets.Wrap(newMem(), secrets.Info{Backend: "mem", Scope: memScope, MaxSecrets: 3})
	if err := secrets.SetMany(ctx, s, map[string]string{"A": "1", "B": "2", "C": "3"}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "D", "4"); !errors.Is(err, secrets.ErrLimit) || !strings.Contains(err.Error(), "max_secrets") {
		t.Errorf("a fourth secret over max_secrets 3: %v", err)
	}
	secrets.Wrap(s, secrets.Info{MaxSecrets: 4}) // raised on the open store
	if err := s.Set(ctx, "D", "4"); err != nil {
		t.Errorf("after raising the cap: %v", err)
	}
}

// memBounded is memBulk with a SizeBounder answering bound, counting the
// bulk reads.
type memBounded struct {
	memBulk
	bound  int
	getAll int
}

func (m *memBounded) SizeBound(context.Context) (int, error) { return m.bound, nil }

func (m *memBounded) GetAll(ctx context.Context) (map[string]string, error) {
	m.getAll++
	return m.memBulk.GetAll(ctx)
}

// TestSizeBounder: a backend's size bound that leaves room for a write
// spares the capacity check the bulk read of a big scope; a bound without
// room falls back to the bulk read, which still refuses what is too big.
func TestSizeBounder(t *testing.T) {
	ctx := context.Background()
	m := &memBounded{memBulk: memBulk{newMem()}}
	for i := range 300 { // past the size bound of MaxValueSize per secret
		m.data[fmt.Sprintf("S%03d", i)] = "v"
	}
	m.bound = 300 * 5
	s := secrets.Wrap(m, secrets.Info{})
	if err := s.Set(ctx, "S001", "w"); err != nil {
		t.Fatal(err)
	}
	if m.getAll != 0 {
		t.Errorf("%d bulk reads with a bound that leaves room, want 0", m.getAll)
	}

	m = &memBounded{memBulk: memBulk{newMem()}, bound: secrets.MaxStoreSize}
	for i := range 300 {
		m.data[fmt.Sprintf("S%03d", i)] = "v"
	}
	s = secrets.Wrap(m, secrets.Info{})
	if err := s.Set(ctx, "NEW", "v"); err != nil {
		t.Fatal(err)
	}
	if m.getAll != 1 {
		t.Errorf("%d bulk reads with a bound without room, want 1", m.getAll)
	}

	big := strings.Repeat("x", secrets.MaxValueSize)
	m = &memBounded{memBulk: memBulk{newMem()}}
	for i := range 250 {
		m.data[fmt.Sprintf("B%03d", i)] = big
	}
	m.bound = 250 * (4 + secrets.MaxValueSize)
	s = secrets.Wrap(m, secrets.Info{})
	batch := map[string]string{}
	for i := range 10 {
		batch[fmt.Sprintf("C%03d", i)] = big
	}
	if err := secrets.SetMany(ctx, s, batch, false); !errors.Is(err, secrets.ErrLimit) {
		t.Errorf("a batch past the limit with an exact bound: %v", err)
	}
	if len(m.data) != 250 {
		t.Errorf("written despite the limit")
	}
}
