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

// DotenvFor is the write-only dotenv variant that is exact for one peer
// parser (dotenv.FormatPython, FormatNode or FormatGodotenv), for values the
// common dotenv format refuses because the peers disagree on them. Import
// reads the common format only.
func DotenvFor(f dotenv.Format) Format {
	summaries := map[dotenv.Format]string{
		dotenv.FormatPython:   "dotenv read exactly by python-dotenv only",
		dotenv.FormatNode:     "dotenv read exactly by Node's dotenv only",
		dotenv.FormatGodotenv: "dotenv read exactly by godotenv only",
	}
	return Format{
		Name:    string(f),
		Summary: summaries[f],
		Write: func(w io.Writer, vars map[string]string, _ Options) error {
			return dotenv.WriteFormat(w, vars, f)
		},
	}
}

// ReadDotenv reads a dotenv document; with literal, values that peers would
// expand ($NAME, ${NAME}) are kept as written instead of refused.
func ReadDotenv(data []byte, literal bool) ([]dotenv.Entry, error) {
	entries, err := dotenv.ParseWith(data, dotenv.Options{Literal: literal})
	if err != nil {
		return nil, fmt.Errorf("dotenv: %w", err)
	}
	return entries, nil
}

func readDotenv(data []byte) (map[string]string, error) {
	entries, err := ReadDotenv(data, false)
	if err != nil {
		return nil, err
	}
	vars := make(map[string]string, len(entries))
	for _, e := range entries {
		vars[e.Name] = e.Value
	}
	return vars, nil
}
