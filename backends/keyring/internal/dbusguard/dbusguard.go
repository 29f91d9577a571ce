// Package dbusguard keeps github.com/99designs/keyring from connecting to
// the D-Bus session bus in its init functions (99designs/keyring#103).
//
// Those init functions call dbus.SessionBus(); when the process has no
// DBUS_SESSION_BUS_ADDRESS and no $XDG_RUNTIME_DIR/bus, godbus runs
// dbus-launch (package dbus-x11), which starts a dbus-daemon that outlives
// the process: every run of every program importing the module leaks one.
// Package keyring (the backend) does not use the module's Secret Service or
// KWallet code at all, so their init-time connection is only harm.
//
// This package is imported by the backend next to the module. Its variable
// initialisation sets DBUS_SESSION_BUS_ADDRESS to an address without a
// usable transport, so that the module's init functions fail at once
// without starting anything; the backend then calls Restore from its own
// variable initialisation, before main runs, which puts the variable back
// as the process received it. The order is the one the Go specification
// defines for package initialisation (Go 1.21 and later: packages sorted
// by import path, each initialised once everything it imports is): this
// package imports only package os, while the module imports os/exec
// (directly and through godbus) and so can only be initialised after this
// package. The backend's tests check the outcome in their own binary, and
// the CLI's leak test checks it end to end.
package dbusguard

import "os"

// AddressVar is the environment variable godbus reads the bus address from.
const AddressVar = "DBUS_SESSION_BUS_ADDRESS"

// disabledAddress names a transport godbus does not know, so connecting
// fails before anything is dialled or started.
const disabledAddress = "dstack-secrets-disabled:"

var (
	saved, hadAddress = os.LookupEnv(AddressVar)
	armed             = arm()
)

func arm() bool {
	return os.Setenv(AddressVar, disabledAddress) == nil
}

// Restore puts DBUS_SESSION_BUS_ADDRESS back as the process received it.
// It is called from the backend's variable initialisation; later calls do
// nothing. It reports whether the guard was in place, that is whether the
// module's init functions ran with the connection disabled.
func Restore() bool {
	if os.Getenv(AddressVar) != disabledAddress {
		return false
	}
	if hadAddress {
		os.Setenv(AddressVar, saved)
	} else {
		os.Unsetenv(AddressVar)
	}
	return armed
}
