// Command scale measures how the file backend's cost grows with the number
// of stored secrets: for each store size it runs one fresh process per
// operation (list, get, getall, set, an empty one for the floor, and
// decrypt: the age library decrypting the whole store file, what `age -d`
// does) and records the time the operation took inside the process and the
// process's peak resident memory (VmHWM). bench/run calls it and plots the
// result.
//
//	go run ./bench/scale -sizes 10,1000,10000,100000 -runs 5 > scale.tsv
//	go run ./bench/scale -seed-only -dir DIR -project P -repo R -n 1000
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/bench/internal/seed"
	"github.com/dstackai/dstack-secrets/secrets"
)

var scope = secrets.Scope{Project: "bench", Repository: "github.com/org/repo"}

// ops are the measured operations, each in its own process.
var ops = []string{"none", "decrypt", "list", "get", "getall", "set"}

func main() {
	sizes := flag.String("sizes", "10,1000,10000,100000", "comma-separated store sizes")
	runs := flag.Int("runs", 5, "processes per operation and size (the median is reported)")
	child := flag.String("child", "", "internal: run one operation and print its duration in ns")
	dir := flag.String("dir", "", "internal: store directory for -child")
	n := flag.Int("n", 0, "store size for -child and -seed-only")
	seedOnly := flag.Bool("seed-only", false, "only fill the store of -project and -repo in -dir with -n secrets")
	project := flag.String("project", scope.Project, "project for -seed-only")
	repo := flag.String("repo", scope.Repository, "repository for -seed-only")
	flag.Parse()
	if *seedOnly {
		sc := secrets.Scope{Project: *project, Repository: *repo}
		if _, err := seed.FileStore(context.Background(), *dir, sc, *n); err != nil {
			fmt.Fprintln(os.Stderr, "scale:", err)
			os.Exit(1)
		}
		return
	}
	if *child != "" {
		if err := runChild(*child, *dir, *n); err != nil {
			fmt.Fprintln(os.Stderr, "scale:", err)
			os.Exit(1)
		}
		return
	}
	if err := runParent(*sizes, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func runParent(spec string, runs int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "dstack-secrets-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Println("n\tstore_bytes\top\tmedian_ns\tpeak_rss_kb")
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad size %q", f)
		}
		dir := filepath.Join(tmp, strconv.Itoa(n))
		size, err := seed.FileStore(context.Background(), dir, scope, n)
		if err != nil {
			return err
		}
		for _, op := range ops {
			var times []int64
			var rss []int64
			for range runs {
				cmd := exec.Command(self, "-child", op, "-dir", dir, "-n", strconv.Itoa(n))
				cmd.Stderr = os.Stderr
				out, err := cmd.Output()
				if err != nil {
					return fmt.Errorf("%s at n=%d: %w", op, n, err)
				}
				var ns, hwm int64
				if _, err := fmt.Sscan(string(out), &ns, &hwm); err != nil {
					return fmt.Errorf("%s at n=%d: bad child output %q", op, n, out)
				}
				times = append(times, ns)
				rss = append(rss, hwm)
			}
			fmt.Printf("%d\t%d\t%s\t%d\t%d\n", n, size, op, median(times), median(rss))
		}
	}
	return nil
}

func median(xs []int64) int64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// runChild performs one operation the way a fresh CLI process would: open
// the store, then read or write.
func runChild(op, dir string, n int) error {
	ctx := context.Background()
	start := time.Now()
	if op == "decrypt" {
		if err := decryptAll(dir); err != nil {
			return err
		}
	} else if op != "none" {
		s, err := file.Open(ctx, scope, file.Options{Dir: dir})
		if err != nil {
			return err
		}
		s = secrets.Wrap(s, secrets.Info{MaxSecrets: max(n+1, secrets.MaxSecrets)}) // as with max_secrets set
		switch op {
		case "list":
			names, err := s.List(ctx)
			if err == nil && len(names) != n {
				err = fmt.Errorf("listed %d secrets, want %d", len(names), n)
			}
			if err != nil {
				return err
			}
		case "get":
			if _, err := s.Get(ctx, seed.Name(n/2)); err != nil {
				return err
			}
		case "getall":
			if _, err := secrets.GetAll(ctx, s); err != nil {
				return err
			}
		case "set":
			if err := s.Set(ctx, seed.Name(n/2), fmt.Sprintf("new-%d", time.Now().UnixNano())); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown operation %q", op)
		}
	}
	elapsed := time.Since(start)
	fmt.Println(elapsed.Nanoseconds(), peakRSS())
	return nil
}

// decryptAll decrypts the whole store file with the age library, as the
// age command does, and throws the plaintext away.
func decryptAll(dir string) error {
	keyData, err := os.ReadFile(filepath.Join(dir, scope.Project+".key"))
	if err != nil {
		return err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(keyData))
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dir, scope.Project+".age"))
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := age.Decrypt(bufio.NewReader(f), ids...)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, r)
	return err
}

// peakRSS returns the process's peak resident set size in KiB (VmHWM).
// The rusage of a child is no good here: Linux carries the parent's peak
// across fork and exec into ru_maxrss.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
