// Command mask is the harness of bench/mask/run: it generates the input of
// the masking benchmark and filters standard input to standard output
// through a redact.Redactor, so that the filter can be timed in a shell
// pipeline side by side with cat.
//
//	mask gen -size 200000000 > in.log         # log-like text with values in it
//	mask filter < in.log > out.log            # masks 1,000 values of 32 bytes
//	mask filter -n 0 < in.log > out.log       # no values: the cost of the copy alone
//	mask filter -extra aaaa...ab -stats < x   # one more value; print the peak memory
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/dstackai/dstack-secrets/internal/maskgen"
	"github.com/dstackai/dstack-secrets/redact"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mask gen|filter [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 1000, "number of secrets")
	size := fs.Int("len", 32, "length of each secret value in bytes")
	seed := fs.Uint64("seed", 1, "seed of the secrets and the input")
	total := fs.Int64("size", 200_000_000, "gen: bytes of input to write")
	every := fs.Int("every", 1000, "gen: about one line in this many shows a value")
	extra := fs.String("extra", "", "filter: one more value to mask")
	stats := fs.Bool("stats", false, "filter: print the peak resident memory (VmHWM) to stderr")
	cpuprofile := fs.String("cpuprofile", "", "filter: write a CPU profile to this file")
	_ = fs.Parse(os.Args[2:])
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "mask:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	secrets := maskgen.Secrets(*n, *size, *seed)
	var err error
	switch os.Args[1] {
	case "gen":
		values := slices.Sorted(maps.Values(secrets))
		err = maskgen.Log(os.Stdout, *total, values, *every, *seed+1)
	case "filter":
		if *extra != "" {
			secrets["EXTRA"] = *extra
		}
		var r *redact.Redactor
		if len(secrets) > 0 {
			r = redact.New(secrets, redact.Options{})
		}
		err = r.Copy(os.Stdout, os.Stdin)
		if *stats {
			fmt.Fprintln(os.Stderr, "peak memory:", peakMemory())
		}
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "mask:", err)
		os.Exit(1)
	}
}

// peakMemory returns the VmHWM line of /proc/self/status ("" elsewhere).
func peakMemory() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
