package plugin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Program returns the name of the program that serves backend:
// "dstack-secrets-" + backend.
func Program(backend string) string { return "dstack-secrets-" + backend }

// LookPath finds the program named program: beside the running executable
// (as go install puts both), also beside the file it links to, else in
// PATH. A program that cannot be found gives an error wrapping
// secrets.ErrUnavailable that names it and says how to install it.
func LookPath(program string) (string, error) {
	file := program
	if runtime.GOOS == "windows" {
		file += ".exe"
	}
	var dirs []string
	if self, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(self))
		if real, err := filepath.EvalSymlinks(self); err == nil && filepath.Dir(real) != dirs[0] {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(program); err == nil {
		return p, nil
	} else if !errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("%w: the program %s cannot be run: %v", secrets.ErrUnavailable, program, err)
	}
	where := "in PATH"
	if len(dirs) > 0 {
		where = "in " + dirs[0] + ", beside dstack-secrets, and in PATH"
	}
	return "", fmt.Errorf("%w: the program %s is not installed (looked %s); install it beside dstack-secrets, from the same checkout: go install ./cmd/%s",
		secrets.ErrUnavailable, program, where, program)
}
