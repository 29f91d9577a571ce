//go:build !unix

package file_test

import "errors"

const fdSupported = false

func dup2(int, int) error { return errors.New("no descriptors") }

func fdOpen(int) bool { return false }
