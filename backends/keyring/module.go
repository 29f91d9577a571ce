package keyring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	kr "github.com/99designs/keyring"

	"github.com/dstackai/dstack-secrets/backends/keyring/internal/dbusguard"
	"github.com/dstackai/dstack-secrets/secrets"
)

// moduleInitGuarded restores DBUS_SESSION_BUS_ADDRESS after the keyring
// module's init functions ran without a bus connection (see package
// dbusguard). Being a package-level variable, it is initialised after every
// imported package and before main.
var moduleInitGuarded = dbusguard.Restore()

// module is a keychain reached through github.com/99designs/keyring
// (macOS Keychain, Windows Credential Manager, keyctl, pass, file). Each
// scope gets its own service name, key prefix or directory, so that
// listing a scope reads only that scope's items; names are stored with
// encodeName. Keychains with a size limit per item (keyctl: 32767 bytes)
// keep longer values in chunks, see setChunked.
type module struct {
	name    string
	ring    kr.Keyring
	scope   secrets.Scope
	maxData int         // largest item the keychain stores; 0 means no limit
	mu      *sync.Mutex // serialises calls when the keychain is not safe for concurrent use
	hint    string      // what to check when a call fails
}

// keyctlOpenMu serialises opening keyctl keyrings: the module creates the
// scope's named keyring when it is missing, and two creators would displace
// each other's keyring.
var keyctlOpenMu sync.Mutex

func moduleType(name string) kr.BackendType {
	switch name {
	case Keychain:
		return kr.KeychainBackend
	case WinCred:
		return kr.WinCredBackend
	case KeyCtl:
		return kr.KeyCtlBackend
	case Pass:
		return kr.PassBackend
	default:
		return kr.FileBackend
	}
}

// unavailableHere explains why a keychain is not compiled into this program.
func unavailableHere(name string) error {
	var why string
	switch name {
	case Keychain:
		if runtime.GOOS == "darwin" {
			why = "the macOS Keychain needs a build with cgo, and this program was built with CGO_ENABLED=0; rebuild it with CGO_ENABLED=1"
		} else {
			why = "the macOS Keychain exists only on macOS"
		}
	case WinCred:
		why = "the Windows Credential Manager exists only on Windows"
	case KeyCtl:
		why = "the kernel keyring (keyctl) exists only on Linux"
	case Pass:
		why = "pass is not supported on " + runtime.GOOS
	default:
		why = "not available on " + runtime.GOOS
	}
	return fmt.Errorf("keychain %s is not available: %s; choose another keychain in options.keychains or use \"backend: file\": %w", name, why, secrets.ErrUnavailable)
}

func openModule(ctx context.Context, name string, scope secrets.Scope, opts *Options) (keychain, error) {
	typ := moduleType(name)
	if !slices.Contains(kr.AvailableBackends(), typ) {
		return nil, unavailableHere(name)
	}
	sp := scopePath(scope)
	cfg := kr.Config{
		AllowedBackends: []kr.BackendType{typ},
		ServiceName:     opts.Service + "/" + sp,
		KeyCtlScope:     opts.KeyctlScope,
		WinCredPrefix:   opts.Service + "/" + sp,
	}
	m := &module{name: name, scope: scope}
	switch name {
	case KeyCtl:
		if err := probeKeyctl(opts.KeyctlScope); err != nil {
			return nil, err
		}
		m.maxData = keyctlMaxData
		m.hint = "check the kernel key quota in /proc/sys/kernel/keys/ (non-root users may keep 20000 bytes in 200 keys)"
	case Pass:
		dir, err := passDir(opts)
		if err != nil {
			return nil, err
		}
		if err := checkPass(dir, opts.PassPrefix); err != nil {
			return nil, err
		}
		cfg.PassDir = dir
		cfg.PassPrefix = opts.PassPrefix + "/" + sp
		m.hint = "see pass's message above; check that gpg can use the key in " + filepath.Join(dir, ".gpg-id")
	case File:
		dir := opts.FileDir
		if dir == "" {
			dir = "~/.dstack/keyring"
		}
		dir, err := secrets.ExpandHome(opts.Env, dir)
		if err != nil {
			return nil, err
		}
		cfg.FileDir = filepath.Join(dir, scope.Project, scopeSegment(scope.Repository))
		cfg.FilePasswordFunc = filePassword(ctx, opts.Env)
		m.mu = new(sync.Mutex) // the module's file keyring caches its password without a lock
		m.hint = "check the password in $" + PasswordEnvVar
	}
	if name == KeyCtl {
		keyctlOpenMu.Lock()
		defer keyctlOpenMu.Unlock()
	}
	ring, err := kr.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("keychain %s cannot be opened; use another keychain or \"backend: file\": %w", name, secrets.ErrUnavailable)
	}
	m.ring = ring
	return m, nil
}

func passDir(opts *Options) (string, error) {
	dir := opts.PassDir
	if dir == "" {
		dir = opts.Env.Value("PASSWORD_STORE_DIR")
	}
	if dir == "" {
		dir = "~/.password-store"
	}
	return secrets.ExpandHome(opts.Env, dir)
}

// checkPass reports a missing pass program or an uninitialised store
// before pass itself fails with a bare exit status.
func checkPass(dir, prefix string) error {
	if _, err := exec.LookPath("pass"); err != nil {
		return fmt.Errorf("keychain pass: the pass program is not installed (install it, e.g. apt-get install pass) or use \"backend: file\": %w", secrets.ErrUnavailable)
	}
	// pass encrypts to the key IDs in the nearest .gpg-id at or above an
	// item's folder.
	for d := filepath.Join(dir, filepath.FromSlash(prefix)); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".gpg-id")); err == nil {
			return nil
		}
		if len(d) <= len(dir) || d == filepath.Dir(d) {
			break
		}
	}
	return fmt.Errorf("keychain pass: the password store %s is not initialised (no .gpg-id); run \"pass init YOUR-GPG-KEY-ID\" (with PASSWORD_STORE_DIR=%s), set options.pass_dir, or use \"backend: file\": %w", dir, dir, secrets.ErrUnavailable)
}

func filePassword(ctx context.Context, env secrets.Env) kr.PromptFunc {
	return func(prompt string) (string, error) {
		if p := env.Value(PasswordEnvVar); p != "" {
			return p, nil
		}
		if env.Prompt != nil {
			return env.Prompt(ctx, "Password of the keyring file store: ")
		}
		return "", fmt.Errorf("keychain file needs a password: set %s or run in a terminal: %w", PasswordEnvVar, secrets.ErrAuth)
	}
}

func (m *module) lock() func() {
	if m.mu == nil {
		return func() {}
	}
	m.mu.Lock()
	return m.mu.Unlock
}

// fail wraps an error of the keyring module with the keychain's name and
// what to check.
func (m *module) fail(op, name string, err error) error {
	sentinel := secrets.ErrUnavailable
	switch {
	case errors.Is(err, secrets.ErrAuth):
		return fmt.Errorf("keychain %s: %s %q: %w", m.name, op, name, err)
	case errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("keychain %s: %s %q: the kernel key quota is exhausted (%v); %s, delete unused secrets or use \"backend: file\": %w", m.name, op, name, err, m.hint, secrets.ErrUnavailable)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		sentinel = secrets.ErrPermission
	case strings.Contains(err.Error(), "aes.KeyUnwrap") || strings.Contains(err.Error(), "integrity check failed"):
		return fmt.Errorf("keychain %s: %s %q: wrong password (%v); %s: %w", m.name, op, name, err, m.hint, secrets.ErrAuth)
	}
	if name == "" {
		return fmt.Errorf("keychain %s: %s: %v; %s: %w", m.name, op, err, m.hint, sentinel)
	}
	return fmt.Errorf("keychain %s: %s %q: %v; %s: %w", m.name, op, name, err, m.hint, sentinel)
}

func (m *module) list(context.Context) ([]string, error) {
	defer m.lock()()
	keys, err := m.ring.Keys()
	if err != nil {
		return nil, m.fail("list", "", err)
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		if n, ok := decodeName(k); ok {
			names = append(names, n)
		}
	}
	return names, nil
}

// read returns the raw item stored under key; found is false when there is
// none.
func (m *module) read(key string) (data []byte, found bool, err error) {
	item, err := m.ring.Get(key)
	if errors.Is(err, kr.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return item.Data, true, nil
}

func (m *module) get(ctx context.Context, name string) (string, error) {
	defer m.lock()()
	key := encodeName(name)
	for attempt := 0; ; attempt++ {
		data, found, err := m.read(key)
		if err != nil {
			return "", m.fail("get", name, err)
		}
		if !found {
			return "", notFound(m.name, name, m.scope)
		}
		h, chunked := parseChunkHead(data)
		if !chunked {
			return string(data), nil
		}
		value, ok, err := m.readChunks(key, h)
		if err != nil {
			return "", m.fail("get", name, err)
		}
		if ok {
			return value, nil
		}
		// A concurrent Set replaced the chunks: read the new head.
		if attempt == 3 {
			return "", fmt.Errorf("keychain %s: get %q: the value kept changing while it was read; retry: %w", m.name, name, secrets.ErrConflict)
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
	}
}

func (m *module) item(key string, name string, data []byte) kr.Item {
	return kr.Item{
		Key:         key,
		Data:        data,
		Label:       "dstack-secrets " + name,
		Description: m.scope.String(),
	}
}

func (m *module) set(_ context.Context, name, value string) error {
	defer m.lock()()
	key := encodeName(name)
	var old chunkHead
	var oldChunked bool
	if m.maxData > 0 {
		data, found, err := m.read(key)
		if err != nil {
			return m.fail("set", name, err)
		}
		if found {
			old, oldChunked = parseChunkHead(data)
		}
	}
	if m.maxData == 0 || len(value) <= m.maxData {
		if err := m.ring.Set(m.item(key, name, []byte(value))); err != nil {
			return m.fail("set", name, err)
		}
	} else if err := m.setChunked(key, name, value); err != nil {
		return m.fail("set", name, err)
	}
	if oldChunked {
		m.removeChunks(key, old)
	}
	return nil
}

func (m *module) del(_ context.Context, name string) error {
	defer m.lock()()
	key := encodeName(name)
	data, found, err := m.read(key)
	if err != nil {
		return m.fail("delete", name, err)
	}
	if !found {
		return notFound(m.name, name, m.scope)
	}
	if err := m.ring.Remove(key); err != nil {
		if errors.Is(err, kr.ErrKeyNotFound) {
			return notFound(m.name, name, m.scope)
		}
		return m.fail("delete", name, err)
	}
	if h, chunked := parseChunkHead(data); chunked {
		m.removeChunks(key, h)
	}
	return nil
}

func (m *module) close() error { return nil }

// Values longer than a keychain's item limit are stored in chunks. The item
// under the name's key then holds a head: chunkMagic, a random nonce, the
// number of chunks and the SHA-256 of the value. The chunks are stored
// first under "<key>.<nonce>.<i>" and the head last, so a reader sees the
// old value or the new one, never a mix; the old chunks are removed after
// the head is replaced. Values never contain NUL, so no value looks like a
// head. Chunk keys contain '.', which no encoded name does, so List skips
// them.
const chunkMagic = "\x00dstack-secrets-chunks:"

type chunkHead struct {
	nonce string
	n     int
	sum   string
}

func parseChunkHead(data []byte) (chunkHead, bool) {
	rest, ok := strings.CutPrefix(string(data), chunkMagic)
	if !ok {
		return chunkHead{}, false
	}
	f := strings.Split(rest, ":")
	if len(f) != 3 {
		return chunkHead{}, false
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 1 || n > 1024 {
		return chunkHead{}, false
	}
	return chunkHead{nonce: f[0], n: n, sum: f[2]}, true
}

func chunkKey(key, nonce string, i int) string {
	return key + "." + nonce + "." + strconv.Itoa(i)
}

func (m *module) setChunked(key, name, value string) error {
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return err
	}
	nonce := hex.EncodeToString(nb[:])
	n := (len(value) + m.maxData - 1) / m.maxData
	for i := 0; i < n; i++ {
		part := value[i*m.maxData : min(len(value), (i+1)*m.maxData)]
		if err := m.ring.Set(m.item(chunkKey(key, nonce, i), name, []byte(part))); err != nil {
			m.removeChunks(key, chunkHead{nonce: nonce, n: i})
			return err
		}
	}
	sum := sha256.Sum256([]byte(value))
	head := fmt.Sprintf("%s%s:%d:%s", chunkMagic, nonce, n, hex.EncodeToString(sum[:]))
	if err := m.ring.Set(m.item(key, name, []byte(head))); err != nil {
		m.removeChunks(key, chunkHead{nonce: nonce, n: n})
		return err
	}
	return nil
}

// readChunks reassembles a chunked value; ok is false when a chunk is
// missing or the checksum differs (a concurrent Set replaced it).
func (m *module) readChunks(key string, h chunkHead) (value string, ok bool, err error) {
	var b strings.Builder
	for i := 0; i < h.n; i++ {
		data, found, err := m.read(chunkKey(key, h.nonce, i))
		if err != nil {
			return "", false, err
		}
		if !found {
			return "", false, nil
		}
		b.Write(data)
	}
	sum := sha256.Sum256([]byte(b.String()))
	if hex.EncodeToString(sum[:]) != h.sum {
		return "", false, nil
	}
	return b.String(), true, nil
}

func (m *module) removeChunks(key string, h chunkHead) {
	for i := 0; i < h.n; i++ {
		_ = m.ring.Remove(chunkKey(key, h.nonce, i))
	}
}
