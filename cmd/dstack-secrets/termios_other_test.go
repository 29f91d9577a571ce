//go:build unix && !linux

package main

import "os"

// lineEditing cannot be read here without a platform-specific ioctl; the
// completion tests run on Linux in CI.
func lineEditing(*os.File) bool { return true }
