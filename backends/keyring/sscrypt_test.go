package keyring_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/secrets"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// needProgram finds a program the test needs, failing under scripts/test.
func needProgram(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
			t.Fatalf("%s is not installed (apt-get install %s)", name, pkg)
		}
		t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	}
}

// TestSecretServiceEncryptedSession watches the private session bus with
// dbus-monitor while the store writes and reads a marker value, and while
// libsecret's secret-tool reads what the store wrote and writes what the
// store reads: the session is dh-ietf1024-sha256-aes128-cbc-pkcs7, the
// marker never crosses the bus in clear (as text or as bytes), and both
// sides of the protocol agree with libsecret's.
func TestSecretServiceEncryptedSession(t *testing.T) {
	requireKeychains(t)
	needProgram(t, "dbus-monitor", "dbus-bin")
	needProgram(t, "secret-tool", "libsecret-tools")
	var out syncBuffer
	mon := exec.Command("dbus-monitor", "--session")
	mon.Stdout, mon.Stderr = &out, &out
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = mon.Process.Signal(syscall.SIGTERM)
			_ = mon.Wait()
		}
	}
	defer stop()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "NameAcquired"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dbus-monitor did not start: %s", out.String())
		}
	}

	ctx := context.Background()
	opts := testOptions(t, keyring.SecretService)
	scope := secrets.Scope{Project: "p", Repository: "github.com/org/session"}
	s, err := keyring.Open(ctx, scope, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	marker := "MARKER-ss-" + randomHex(t) + "\nsecond line é"
	if err := s.Set(ctx, "WRITTEN", marker); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "WRITTEN"); err != nil || got != marker {
		t.Fatalf("round trip: %v (mismatch: %v)", err, got != marker)
	}
	// libsecret reads what the store wrote, and writes what it reads.
	lookup := exec.Command("secret-tool", "lookup", "service", opts.Service, "project", scope.Project, "repository", scope.Repository, "name", "WRITTEN")
	if got, err := lookup.Output(); err != nil || string(got) != marker {
		t.Errorf("secret-tool lookup: %v (mismatch: %v)", err, string(got) != marker)
	}
	marker2 := "MARKER-st-" + randomHex(t)
	store := exec.Command("secret-tool", "store", "--label", "test", "xdg:schema", "ai.dstack.secrets", "service", opts.Service, "project", scope.Project, "repository", scope.Repository, "name", "BY_LIBSECRET")
	store.Stdin = strings.NewReader(marker2)
	if msg, err := store.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v: %s", err, msg)
	}
	if got, err := s.Get(ctx, "BY_LIBSECRET"); err != nil || got != marker2 {
		t.Errorf("reading what libsecret wrote: %v (mismatch: %v)", err, got != marker2)
	}
	secrets.Close(s)
	time.Sleep(200 * time.Millisecond) // let dbus-monitor print the last messages
	stop()

	text := out.String()
	flat := strings.Join(strings.Fields(text), "")
	for _, m := range []string{marker, marker2} {
		first := strings.SplitN(m, "\n", 2)[0]
		if strings.Contains(text, first) || strings.Contains(flat, hex.EncodeToString([]byte(first))) {
			t.Errorf("a secret value crossed the session bus in clear (dbus-monitor saw it)")
		}
	}
	if !strings.Contains(text, `"dh-ietf1024-sha256-aes128-cbc-pkcs7"`) || strings.Contains(text, `string "plain"`) {
		t.Errorf("the sessions opened are not all encrypted")
	}
	t.Logf("dbus-monitor saw %d bytes of traffic", len(text))
}
