//go:build !unix

package nocore

// limit is a soft core limit; systems without one have nothing to set.
type limit = uint64

// setCoreLimit does nothing where there are no resource limits (Windows
// writes no core dumps unless Windows Error Reporting is set up for it).
func setCoreLimit(limit) (limit, error) { return 0, nil }

func setNotDumpable() error { return nil }
