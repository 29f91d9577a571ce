// Package keyring is the OS keychain backend of dstack-secrets: it keeps the
// secrets of a project and repository in the keychain the desktop already
// protects — the macOS Keychain, the Windows Credential Manager, or a
// freedesktop.org Secret Service (GNOME Keyring, KWallet, KeePassXC) on
// Linux — and, when the configuration names them, in pass, the Linux
// kernel keyring (keyctl) or github.com/99designs/keyring's encrypted files.
//
// Select it in the project configuration:
//
//	projects:
//	  main:
//	    backend: keyring
//	    options:               # all optional
//	      keychains: [secret-service]
//	      collection: login
//	      timeout: 30s
//
// In Go, Open returns the store behind secrets.Wrap, which checks names
// and values and writes the not-found messages (naming the keychain and
// the item, see Store.Locate); KeychainOf tells which keychain was opened.
//
// # Layout
//
// In the Secret Service every secret is one item of the collection
// (default: the "default" alias, normally "login") with the attributes
// xdg:schema=ai.dstack.secrets, service, project, repository and name, so
// "secret-tool lookup service dstack-secrets project P repository R name N"
// reads it too, and listing a repository is one SearchItems call over that
// repository's items. In the other keychains the items of a scope live
// under "<service>/<project>/<repository segment>" (the service name of the
// macOS Keychain and keyctl's named keyring, the prefix of pass and the
// Credential Manager, a directory of the file store), where the repository
// segment is the identity made file-name safe plus 16 hex digits of its
// SHA-256; names are stored so that keychains that ignore letter case keep
// API_TOKEN and api_token apart (see encodeName). Kernel keys hold at most
// 32767 bytes, so longer values are kept in chunks behind a checksummed
// head item (see chunk.go). A pass entry holds the value and a newline, as
// "pass insert" writes it and "pass show" prints it (see passRing; entries
// in the keyring module's JSON form are read too).
//
// An item that holds no valid secret value or cannot be decrypted (written
// by another tool, or a pass entry encrypted to another key) makes Get
// fail with secrets.ErrCorrupt, naming the item; GetAll (run, export)
// leaves it out and reports it through Options.Env.Warn.
//
// # The Secret Service session
//
// Values cross the D-Bus session bus encrypted: the store opens a
// "dh-ietf1024-sha256-aes128-cbc-pkcs7" session as libsecret does (a
// Diffie-Hellman exchange in RFC 2409's 1024-bit group, HKDF-SHA256, then
// AES-128-CBC per value; see sscrypt.go), so a process eavesdropping on the
// bus sees no value. Only a service that refuses that algorithm gets a
// "plain" session, and then Options.Env.Warn is told that values cross the
// bus in clear.
//
// # Bounded calls and errors
//
// Every keychain call is bounded by the caller's context and by the timeout
// option (default 30s): a keychain waiting for an unlock prompt that cannot
// appear makes the call fail with secrets.ErrUnavailable instead of hanging.
// Without DISPLAY or WAYLAND_DISPLAY a locked Secret Service collection is
// reported at once (secrets.ErrPermission). A missing D-Bus session bus, no
// Secret Service on the bus, an uninitialised pass store or a keychain that
// does not exist on this OS each give an error that names the keychain and
// the fix.
//
// # The dbus-daemon leak of 99designs/keyring (#103)
//
// github.com/99designs/keyring connects to the D-Bus session bus in its
// init functions; with dbus-x11 installed and no bus address that starts a
// dbus-daemon that outlives every program importing the module, whichever
// backend it uses. This package talks to the Secret Service itself
// (connecting only when a store is opened, and never starting a bus) and
// keeps the module's init functions from connecting at all: see package
// internal/dbusguard. The guard travels with this package, so programs that
// import it from other modules are protected without a replace directive,
// and "go install" of the CLI works.
//
// # Platforms
//
// The package builds with CGO_ENABLED=0 everywhere, but the macOS Keychain
// needs cgo: a binary built for macOS without cgo reports the keychain as
// unavailable and says so. pass runs the pass program and so gpg, with the
// process's GNUPGHOME.
package keyring
