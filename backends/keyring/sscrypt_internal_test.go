package keyring

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/dstackai/dstack-secrets/internal/testbus"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestSessionCrypto: two key pairs (client and service) derive the same
// AES key; values of every length round-trip; a ciphertext whose padding
// was damaged fails without saying anything of its content.
func TestSessionCrypto(t *testing.T) {
	a, err := newDHKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	b, err := newDHKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	ka, err := a.sessionKey(b.public)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.sessionKey(a.public)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ka, kb) || len(ka) != 16 {
		t.Fatalf("the two sides derive different keys (%d and %d bytes)", len(ka), len(kb))
	}
	for _, n := range []int{0, 1, 15, 16, 17, 64 * 1024} {
		v := bytes.Repeat([]byte{'v'}, n)
		iv, ct, err := ssEncrypt(ka, v)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct)%16 != 0 || len(ct) <= n || bytes.Contains(ct, v[:min(n, 8)]) && n >= 8 {
			t.Errorf("%d bytes: ciphertext of %d bytes", n, len(ct))
		}
		got, err := ssDecrypt(kb, iv, ct)
		if err != nil || !bytes.Equal(got, v) {
			t.Errorf("%d bytes: %v (mismatch: %v)", n, err, !bytes.Equal(got, v))
		}
		// The protocol has no MAC (CBC with PKCS#7 padding, as libsecret):
		// what decryption can always catch is damage to the padding. In
		// CBC, flipping a byte of the previous block (or of the IV) flips
		// the same byte of the plaintext, so this turns the last padding
		// byte (1 to 16) into one above 16. (Flipping the last ciphertext
		// byte instead garbles the whole block, which still ends in a
		// valid padding byte 1 time in 256 or so: a flaky test.)
		tiv, tct := bytes.Clone(iv), bytes.Clone(ct)
		if len(tct) >= 32 {
			tct[len(tct)-17] ^= 0xff
		} else {
			tiv[len(tiv)-1] ^= 0xff
		}
		if _, err := ssDecrypt(kb, tiv, tct); err == nil {
			t.Errorf("%d bytes: a value with damaged padding decrypts", n)
		}
	}
	for _, bad := range [][]byte{{0}, {1}, new(dhKeyPair).public, ietf1024Prime.Bytes()} {
		if _, err := a.sessionKey(bad); err == nil {
			t.Errorf("a degenerate public key %x is accepted", bad)
		}
	}
}

// plainOnlyService is a fake Secret Service (in addition to the real one
// of the other tests) that, like an old or minimal implementation, refuses
// the encrypted algorithm.
type plainOnlyService struct {
	mu    sync.Mutex
	items map[dbus.ObjectPath]ssSecret
	attrs map[dbus.ObjectPath]map[string]string
}

func (f *plainOnlyService) OpenSession(alg string, _ dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	if alg != "plain" {
		return dbus.MakeVariant(""), "/", dbus.NewError("org.freedesktop.DBus.Error.NotSupported", []any{"only plain"})
	}
	return dbus.MakeVariant(""), "/org/freedesktop/secrets/session/1", nil
}

func (f *plainOnlyService) ReadAlias(string) (dbus.ObjectPath, *dbus.Error) {
	return "/org/freedesktop/secrets/collection/login", nil
}

func (f *plainOnlyService) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	return dbus.MakeVariant(false), nil // Locked
}

func (f *plainOnlyService) SearchItems(attrs map[string]string) ([]dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dbus.ObjectPath
	for p, a := range f.attrs {
		if a["name"] == attrs["name"] {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *plainOnlyService) CreateItem(props map[string]dbus.Variant, sec ssSecret, _ bool) (dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	attrs, _ := props[ssItem+".Attributes"].Value().(map[string]string)
	p := dbus.ObjectPath("/org/freedesktop/secrets/collection/login/" + attrs["name"])
	f.items[p], f.attrs[p] = sec, attrs
	return p, "/", nil
}

// fakeItem is an item (and the session) of the fake.
type fakeItem struct {
	f    *plainOnlyService
	path dbus.ObjectPath
}

func (i fakeItem) GetSecret(dbus.ObjectPath) (ssSecret, *dbus.Error) {
	i.f.mu.Lock()
	defer i.f.mu.Unlock()
	return i.f.items[i.path], nil
}

func (i fakeItem) Close() *dbus.Error { return nil }

// TestPlainSessionFallback: a service that refuses the encrypted algorithm
// gets a plain session, and the store says so through Env.Warn.
func TestPlainSessionFallback(t *testing.T) {
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("dbus-daemon is not installed")
	}
	addr := testbus.StartBus(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f := &plainOnlyService{items: map[dbus.ObjectPath]ssSecret{}, attrs: map[dbus.ObjectPath]map[string]string{}}
	conn.Export(f, ssPath, ssService)
	conn.Export(f, "/org/freedesktop/secrets/collection/login", ssCollection)
	conn.Export(f, "/org/freedesktop/secrets/collection/login", "org.freedesktop.DBus.Properties")
	item := fakeItem{f, "/org/freedesktop/secrets/collection/login/TOKEN"}
	conn.Export(item, item.path, ssItem)
	conn.Export(item, "/org/freedesktop/secrets/session/1", "org.freedesktop.Secret.Session")
	if reply, err := conn.RequestName(ssBusName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("taking %s: %v", ssBusName, err)
	}
	var warnings []string
	opts := Options{Keychains: []string{SecretService}, Env: secrets.Env{
		Getenv: func(k string) string {
			if k == "DBUS_SESSION_BUS_ADDRESS" {
				return addr
			}
			return ""
		},
		Warn: func(msg string) { warnings = append(warnings, msg) },
	}}
	ctx := context.Background()
	s, err := Open(ctx, secrets.Scope{Project: "p", Repository: "github.com/org/plain"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	if err := s.Set(ctx, "TOKEN", "value"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "TOKEN"); err != nil || v != "value" {
		t.Errorf("Get through a plain session: %q %v", v, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "in clear") {
		t.Errorf("warnings: %q", warnings)
	}
}
