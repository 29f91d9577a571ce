//go:build unix && !linux

package nocore

// setNotDumpable does nothing: only Linux has the dumpable flag; the core
// limit is what keeps cores away here.
func setNotDumpable() error { return nil }
