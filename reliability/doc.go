// Package reliability is the reliability suite of dstack-secrets: it drives
// the real CLI binary and the library under load, SIGKILLs, full and
// read-only file systems and bad input, and checks that no acknowledged
// write is lost, no store is damaged, every failure is a clear error and no
// secret value leaks. It has only tests:
//
//	go test ./reliability/                 # the CI-sized suite
//	go test ./reliability/ -long           # more processes, more kills
//	go test ./reliability/ -run BadInput -update   # regenerate docs/bad-input.md
package reliability
