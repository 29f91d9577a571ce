package envfmt

import (
	"fmt"
	"io"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
)

// Dotenv is the dotenv format of package internal/dotenv: NAME='value'
// lines, read with dotenv.Parse and written with dotenv.Write (whose
// documentation gives the syntax). It is the format Detect falls back to.
func Dotenv() Format {
	return Format{
		Name:    "dotenv",
		Summary: "NAME='value' lines (.env files)",
		Write: func(w io.Writer, vars map[string]string, _ Options) error {
			return dotenv.Write(w, vars)
		},
		Read: readDotenv,
	}
}

func readDotenv(data []byte) (map[string]string, error) {
	entries, err := dotenv.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("dotenv: %w", err)
	}
	vars := make(map[string]string, len(entries))
	for _, e := range entries {
		vars[e.Name] = e.Value
	}
	return vars, nil
}
