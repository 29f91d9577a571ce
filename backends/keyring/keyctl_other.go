//go:build !linux

package keyring

// keyctlMaxData is unused where there is no kernel keyring.
const keyctlMaxData = 0

// probeKeyctl is never reached where there is no kernel keyring: the
// keyring module does not offer it, and Open reports that first.
func probeKeyctl(string) error { return nil }
