package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The Secret Service keychain talks to the freedesktop.org Secret Service
// API (https://specifications.freedesktop.org/secret-service/) directly
// over D-Bus with github.com/godbus/dbus/v5, instead of through the
// keyring module, for three reasons:
//
//   - The keyring module connects to the session bus in init(), in every
//     program that imports it; without a bus address that runs dbus-launch,
//     which leaks a dbus-daemon per process (99designs/keyring#103). Here
//     the connection is made only when a store is opened, only to a bus
//     that exists: this code never starts one.
//   - Every D-Bus call takes the caller's context.
//   - Items carry their scope and name as attributes, so listing a scope is
//     one SearchItems call over the items of that scope, not a call per
//     item of the whole collection.

const (
	ssBusName     = "org.freedesktop.secrets"
	ssPath        = dbus.ObjectPath("/org/freedesktop/secrets")
	ssService     = "org.freedesktop.Secret.Service"
	ssCollection  = "org.freedesktop.Secret.Collection"
	ssItem        = "org.freedesktop.Secret.Item"
	ssPrompt      = "org.freedesktop.Secret.Prompt"
	ssNoPrompt    = dbus.ObjectPath("/")
	ssContentType = "text/plain; charset=utf8"
	// ssSchema marks our items, as libsecret's xdg:schema attribute does.
	ssSchema = "ai.dstack.secrets"
)

// ssMaxPending is how many calls list keeps in flight on one connection.
const ssMaxPending = 16

// ssSecret is the Secret struct of the API: (oayays).
type ssSecret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

type secretService struct {
	conn       *dbus.Conn
	session    dbus.ObjectPath
	key        []byte // the session's AES key (sscrypt.go); nil for a plain session
	collection dbus.ObjectPath
	collName   string
	scope      secrets.Scope
	attrs      map[string]string // the scope's attributes, without the name
	display    bool              // whether an unlock prompt can be shown
	closeOnce  sync.Once
	batchMu    sync.Mutex // one batch of pipelined calls at a time
}

// sessionBusAddress finds the session bus the way libdbus does, without
// ever starting one: $DBUS_SESSION_BUS_ADDRESS, else the per-user bus
// socket $XDG_RUNTIME_DIR/bus.
func sessionBusAddress(env secrets.Env) (string, error) {
	if a := env.Value("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a, nil
	}
	if rd := env.Value("XDG_RUNTIME_DIR"); rd != "" {
		p := filepath.Join(rd, "bus")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + p, nil
		}
	}
	return "", fmt.Errorf("keychain %s: there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set and $XDG_RUNTIME_DIR/bus does not exist), so no Secret Service (GNOME Keyring, KWallet) can be reached; run in a desktop session or under \"dbus-run-session\", or use \"backend: file\": %w",
		SecretService, secrets.ErrUnavailable)
}

func ssError(what string, err error) error {
	var de dbus.Error
	if errors.As(err, &de) {
		switch de.Name {
		case "org.freedesktop.Secret.Error.IsLocked":
			return fmt.Errorf("keychain %s: %s: the collection is locked; unlock it (log in to the desktop, or open Passwords and Keys) or use \"backend: file\": %w", SecretService, what, secrets.ErrPermission)
		case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
			return fmt.Errorf("keychain %s: %s: no Secret Service is running on the session bus (%s); start GNOME Keyring or KWallet, or use \"backend: file\": %w", SecretService, what, de.Name, secrets.ErrUnavailable)
		case "org.freedesktop.DBus.Error.AccessDenied":
			return fmt.Errorf("keychain %s: %s: access denied by the Secret Service (%v): %w", SecretService, what, err, secrets.ErrPermission)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("keychain %s: %s: %v; check that the Secret Service (GNOME Keyring, KWallet) is running, or use \"backend: file\": %w", SecretService, what, err, secrets.ErrUnavailable)
}

func openSecretService(ctx context.Context, scope secrets.Scope, opts *Options) (_ keychain, err error) {
	addr, err := sessionBusAddress(opts.Env)
	if err != nil {
		return nil, err
	}
	// The connection outlives ctx, but connecting must not.
	connected := make(chan struct{})
	connCtx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-connected:
		}
	}()
	conn, err := dbus.Connect(addr, dbus.WithContext(connCtx))
	close(connected)
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("keychain %s: cannot connect to the D-Bus session bus at %s (%v); check DBUS_SESSION_BUS_ADDRESS, or use \"backend: file\": %w", SecretService, addr, err, secrets.ErrUnavailable)
	}
	s := &secretService{conn: conn, scope: scope, display: opts.Env.Value("DISPLAY") != "" || opts.Env.Value("WAYLAND_DISPLAY") != ""}
	defer func() {
		if err != nil {
			_ = conn.Close()
			cancel()
		}
	}()
	// Is there a Secret Service, running or startable?
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, ssBusName).Store(&owned); err != nil {
		return nil, ssError("asking the bus for the Secret Service", err)
	}
	if !owned {
		var names []string
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&names); err != nil {
			return nil, ssError("asking the bus for the Secret Service", err)
		}
		if !strings.Contains("\x00"+strings.Join(names, "\x00")+"\x00", "\x00"+ssBusName+"\x00") {
			return nil, fmt.Errorf("keychain %s: no Secret Service on the D-Bus session bus at %s (nothing owns or can start %s); start GNOME Keyring (gnome-keyring-daemon --start --components=secrets) or KWallet, or use \"backend: file\": %w",
				SecretService, addr, ssBusName, secrets.ErrUnavailable)
		}
	}
	if err := s.openSession(ctx, opts.Env.Warn); err != nil {
		return nil, err
	}
	if err := s.findCollection(ctx, opts.Collection); err != nil {
		return nil, err
	}
	if err := s.ensureUnlocked(ctx); err != nil {
		return nil, err
	}
	s.attrs = map[string]string{
		"xdg:schema": ssSchema,
		"service":    opts.Service,
		"project":    scope.Project,
		"repository": scope.Repository,
	}
	go func() { <-conn.Context().Done(); cancel() }()
	return s, nil
}

// findCollection resolves the collection option: an alias ("default",
// "login", "session") or a collection's label or path name.
func (s *secretService) findCollection(ctx context.Context, name string) error {
	svc := s.conn.Object(ssBusName, ssPath)
	alias := name
	if alias == "" {
		alias = "default"
	}
	var path dbus.ObjectPath
	if err := svc.CallWithContext(ctx, ssService+".ReadAlias", 0, alias).Store(&path); err != nil {
		return ssError("looking up collection "+alias, err)
	}
	if path != ssNoPrompt {
		s.collection, s.collName = path, alias
		return nil
	}
	v, err := s.property(ctx, ssPath, ssService, "Collections")
	if err != nil {
		return ssError("listing collections", err)
	}
	paths, _ := v.Value().([]dbus.ObjectPath)
	var known []string
	for _, p := range paths {
		base := string(p)[strings.LastIndex(string(p), "/")+1:]
		label := base
		if lv, err := s.property(ctx, p, ssCollection, "Label"); err == nil {
			if l, ok := lv.Value().(string); ok && l != "" {
				label = l
			}
		}
		if name != "" && (base == name || label == name) {
			s.collection, s.collName = p, name
			return nil
		}
		if label != base {
			base += " (" + label + ")"
		}
		known = append(known, base)
	}
	if name == "" {
		return fmt.Errorf("keychain %s: the Secret Service has no default collection; set options.collection to one of: %s: %w", SecretService, strings.Join(known, ", "), secrets.ErrUnavailable)
	}
	return fmt.Errorf("keychain %s: collection %q does not exist (existing: %s); creating a collection needs a desktop prompt: create it in Passwords and Keys (seahorse), or set options.collection to an existing one: %w",
		SecretService, name, strings.Join(known, ", "), secrets.ErrInvalidConfig)
}

// ensureUnlocked unlocks the collection when it is locked. Unlocking asks
// the user through a desktop prompt; without a display no prompt can
// appear, so a locked collection is reported at once, and with one the wait
// is bounded by ctx.
func (s *secretService) ensureUnlocked(ctx context.Context) error {
	v, err := s.property(ctx, s.collection, ssCollection, "Locked")
	if err != nil {
		return ssError("reading the state of collection "+s.collName, err)
	}
	if locked, _ := v.Value().(bool); !locked {
		return nil
	}
	lockedErr := func(why string) error {
		return fmt.Errorf("keychain %s: collection %q is locked%s; unlock it (log in to the desktop session, or open Passwords and Keys), or use \"backend: file\": %w",
			SecretService, s.collName, why, secrets.ErrPermission)
	}
	if !s.display {
		return lockedErr(" and no unlock prompt can be shown (neither DISPLAY nor WAYLAND_DISPLAY is set)")
	}
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := s.conn.Object(ssBusName, ssPath).CallWithContext(ctx, ssService+".Unlock", 0, []dbus.ObjectPath{s.collection}).Store(&unlocked, &prompt); err != nil {
		return ssError("unlocking collection "+s.collName, err)
	}
	if prompt != ssNoPrompt {
		dismissed, err := s.runPrompt(ctx, prompt)
		if err != nil {
			if ctx.Err() != nil {
				return lockedErr(" and the unlock prompt was not answered in time")
			}
			return lockedErr(fmt.Sprintf(" and the unlock prompt failed (%v)", err))
		}
		if dismissed {
			return lockedErr(" and the unlock prompt was dismissed")
		}
	}
	return nil
}

// runPrompt shows a Secret Service prompt and waits, bounded by ctx, for
// its Completed signal. A prompt still open when ctx ends is dismissed.
func (s *secretService) runPrompt(ctx context.Context, prompt dbus.ObjectPath) (dismissed bool, err error) {
	match := []dbus.MatchOption{dbus.WithMatchObjectPath(prompt), dbus.WithMatchInterface(ssPrompt), dbus.WithMatchMember("Completed")}
	if err := s.conn.AddMatchSignalContext(ctx, match...); err != nil {
		return false, err
	}
	defer func() { _ = s.conn.RemoveMatchSignalContext(context.Background(), match...) }()
	ch := make(chan *dbus.Signal, 4)
	s.conn.Signal(ch)
	defer s.conn.RemoveSignal(ch)
	obj := s.conn.Object(ssBusName, prompt)
	if err := obj.CallWithContext(ctx, ssPrompt+".Prompt", 0, "").Err; err != nil {
		return false, err
	}
	for {
		select {
		case sig := <-ch:
			if sig.Path != prompt || sig.Name != ssPrompt+".Completed" || len(sig.Body) < 1 {
				continue
			}
			d, _ := sig.Body[0].(bool)
			return d, nil
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = obj.CallWithContext(dctx, ssPrompt+".Dismiss", 0).Err
			cancel()
			return false, ctx.Err()
		}
	}
}

// property reads a D-Bus property, bounded by ctx.
func (s *secretService) property(ctx context.Context, path dbus.ObjectPath, iface, name string) (dbus.Variant, error) {
	var v dbus.Variant
	err := s.conn.Object(ssBusName, path).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, iface, name).Store(&v)
	return v, err
}

func (s *secretService) attributes(name string) map[string]string {
	a := make(map[string]string, len(s.attrs)+1)
	for k, v := range s.attrs {
		a[k] = v
	}
	if name != "" {
		a["name"] = name
	}
	return a
}

func (s *secretService) search(ctx context.Context, name string) ([]dbus.ObjectPath, error) {
	var items []dbus.ObjectPath
	err := s.conn.Object(ssBusName, s.collection).CallWithContext(ctx, ssCollection+".SearchItems", 0, s.attributes(name)).Store(&items)
	if err != nil {
		return nil, ssError("searching collection "+s.collName, err)
	}
	return items, nil
}

func (s *secretService) list(ctx context.Context) ([]string, error) {
	items, err := s.search(ctx, "")
	if err != nil {
		return nil, err
	}
	// The names are item attributes: ask for them in batches of pipelined
	// calls (buses limit the replies pending per connection, dbus-daemon's
	// built-in default is 128) and collect the answers.
	attrs, err := s.attributesOf(ctx, items)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(attrs))
	for _, a := range attrs {
		// An item without a name attribute gives "", which the store
		// Open returns leaves out like every name that is not valid.
		names = append(names, a["name"])
	}
	return names, nil
}

func (s *secretService) get(ctx context.Context, name string) (string, error) {
	items, err := s.search(ctx, name)
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return "", secrets.ErrNotFound
	}
	var sec ssSecret
	if err := s.conn.Object(ssBusName, items[0]).CallWithContext(ctx, ssItem+".GetSecret", 0, s.session).Store(&sec); err != nil {
		var de dbus.Error
		if errors.As(err, &de) && (strings.Contains(de.Name, "UnknownObject") || strings.Contains(de.Name, "NoSuchObject")) {
			return "", secrets.ErrNotFound
		}
		return "", ssError("reading secret "+name, err)
	}
	if s.key == nil {
		return string(sec.Value), nil
	}
	value, err := ssDecrypt(s.key, sec.Parameters, sec.Value)
	if err != nil {
		return "", fmt.Errorf("keychain %s: reading secret %q: %v: %w", SecretService, name, err, secrets.ErrCorrupt)
	}
	defer clear(value)
	return string(value), nil
}

func (s *secretService) set(ctx context.Context, name, value string) error {
	props := map[string]dbus.Variant{
		ssItem + ".Label":      dbus.MakeVariant(fmt.Sprintf("%s (dstack-secrets, project %s, %s)", name, s.scope.Project, s.scope.Repository)),
		ssItem + ".Attributes": dbus.MakeVariant(s.attributes(name)),
	}
	sec := ssSecret{Session: s.session, Parameters: []byte{}, Value: []byte(value), ContentType: ssContentType}
	if s.key != nil {
		iv, ct, err := ssEncrypt(s.key, sec.Value)
		clear(sec.Value)
		if err != nil {
			return fmt.Errorf("keychain %s: storing secret %q: encrypting it for the session: %v", SecretService, name, err)
		}
		sec.Parameters, sec.Value = iv, ct
	}
	var item, prompt dbus.ObjectPath
	// replace=true: an item with the same attributes is updated in place.
	if err := s.conn.Object(ssBusName, s.collection).CallWithContext(ctx, ssCollection+".CreateItem", 0, props, sec, true).Store(&item, &prompt); err != nil {
		return ssError("storing secret "+name, err)
	}
	if prompt != ssNoPrompt {
		dismissed, err := s.runPrompt(ctx, prompt)
		if err != nil {
			return ssError("storing secret "+name+" (prompt)", err)
		}
		if dismissed {
			return fmt.Errorf("keychain %s: storing secret %q: the prompt was dismissed: %w", SecretService, name, secrets.ErrPermission)
		}
	}
	return nil
}

func (s *secretService) del(ctx context.Context, name string) error {
	items, err := s.search(ctx, name)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return secrets.ErrNotFound
	}
	for _, it := range items {
		var prompt dbus.ObjectPath
		if err := s.conn.Object(ssBusName, it).CallWithContext(ctx, ssItem+".Delete", 0).Store(&prompt); err != nil {
			var de dbus.Error
			if errors.As(err, &de) && (strings.Contains(de.Name, "UnknownObject") || strings.Contains(de.Name, "NoSuchObject")) {
				continue
			}
			return ssError("deleting secret "+name, err)
		}
		if prompt != ssNoPrompt {
			if dismissed, err := s.runPrompt(ctx, prompt); err != nil || dismissed {
				return fmt.Errorf("keychain %s: deleting secret %q: the confirmation prompt was not accepted: %w", SecretService, name, secrets.ErrPermission)
			}
		}
	}
	return nil
}

// locate names the collection and the attributes of the item, which with
// the scope's project and repository identify it: "secret-tool lookup
// service S project P repository R name N" reads it.
func (s *secretService) locate(name string) string {
	return fmt.Sprintf("keychain %s, collection %s, item service=%s name=%s", SecretService, s.collName, s.attrs["service"], name)
}

func (s *secretService) close() error {
	var err error
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.conn.Object(ssBusName, s.session).CallWithContext(ctx, "org.freedesktop.Secret.Session.Close", 0).Err
		clear(s.key)
		err = s.conn.Close()
	})
	return err
}
