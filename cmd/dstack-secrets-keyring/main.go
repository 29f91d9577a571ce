// Command dstack-secrets-keyring is the keyring backend of dstack-secrets
// (the Secret Service, macOS Keychain, Windows Credential Manager, the
// Linux kernel keyring, pass, an encrypted file) in a program of its own,
// so that the keychain libraries (D-Bus among them) are initialised only
// by the commands that open a keyring project. dstack-secrets starts it
// when it opens a project whose backend is keyring; it is not meant to be
// run by hand. Install it beside dstack-secrets:
//
//	go install ./cmd/...
//
// Usage:
//
//	dstack-secrets-keyring serve-plugin
//
// serve-plugin serves the store of one project on standard input and
// output for dstack-secrets (package internal/plugin). A password the
// encrypted-file keychain asks for is asked at dstack-secrets' terminal.
package main

import (
	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/internal/plugin"
	"github.com/dstackai/dstack-secrets/secrets"
)

// serveEnv are the variables the keyring backend reads through
// secrets.Env: dstack-secrets sends their values when it opens a store
// here.
var serveEnv = []string{
	keyring.PasswordEnvVar, "PASSWORD_STORE_DIR",
	"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "DISPLAY", "WAYLAND_DISPLAY",
}

func registry() *secrets.Registry { return secrets.NewRegistry(keyring.Backend()) }

func main() { plugin.Main(keyring.Name, registry, plugin.ServeEnv(keyring.Name, serveEnv...)) }
