//go:build unix

package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/cloud"
	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/bench/internal/seed"
	"github.com/dstackai/dstack-secrets/secrets"
)

// The cloud backend as a user meets it: whole processes of the CLI (which
// runs the backend in dstack-secrets-cloud, package internal/plugin)
// against whole processes of bench/internal/rawget, which does only one GET
// of the same object with the same SDK (and, for add, one conditional PUT).
// Both pay a process start and their SDK's initialisation; the CLI pays a
// second process, the identity, the signature check and the decryption.
//
//   - run: `dstack-secrets run -- /bin/true` with 100 secrets against
//     `rawget` (one GET);
//   - add: `dstack-secrets add -y NAME VALUE` against `rawget -put` (one GET
//     and one conditional PUT of an object of the same size);
//   - vault: `dstack-secrets run -- /bin/true` with 100 secrets on the Vault
//     dev server (entry and bundle layouts), for comparison in the same run.

var (
	cliBinOnce sync.Once
	cliBinDir  string
	cliBinErr  error
)

// cliBinaries builds every program of cmd/ and bench/internal/rawget once
// into one directory (the CLI finds its backend programs beside itself).
func cliBinaries(b *testing.B) string {
	b.Helper()
	cliBinOnce.Do(func() {
		// Under the benchmarks' root, which TestMain removes.
		cliBinDir = filepath.Join(root, "bin")
		cmd := exec.Command("go", "build", "-o", cliBinDir+string(filepath.Separator), "github.com/dstackai/dstack-secrets/cmd/...", "github.com/dstackai/dstack-secrets/bench/internal/rawget")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			cliBinErr = fmt.Errorf("building the programs: %v\n%s", err, out.String())
		}
	})
	if cliBinErr != nil {
		b.Fatal(cliBinErr)
	}
	return cliBinDir
}

// cliSandbox is a HOME with a configuration and a git repository whose
// identity is scope's repository.
type cliSandbox struct {
	bin, home, repo string
	env             []string
}

func newCLISandbox(b *testing.B, config string, env ...string) *cliSandbox {
	b.Helper()
	root := b.TempDir()
	s := &cliSandbox{bin: cliBinaries(b), home: filepath.Join(root, "home"), repo: filepath.Join(root, "repo")}
	files := map[string]string{
		filepath.Join(s.home, ".dstack", "secrets.yml"): config,
		filepath.Join(s.repo, ".git", "HEAD"):           "ref: refs/heads/main\n",
		filepath.Join(s.repo, ".git", "config"):         "[remote \"origin\"]\n\turl = https://" + scope.Repository + ".git\n",
	}
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	s.env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.home, "LANG=C.UTF-8",
		"AWS_EC2_METADATA_DISABLED=true", "GCE_METADATA_HOST=127.0.0.1:9"}, env...)
	return s
}

// time runs one process of program in the repository and returns its wall
// time; a failure ends the benchmark with the program's output (which,
// like every output of the CLI, holds no secret value).
func (s *cliSandbox) time(b *testing.B, program string, args ...string) time.Duration {
	cmd := exec.Command(filepath.Join(s.bin, program), args...)
	cmd.Dir, cmd.Env = s.repo, s.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", program, args[0], err, out.String())
	}
	return d
}

func BenchmarkCloudCLI(b *testing.B) {
	for _, srv := range cloudBenchServers {
		b.Run(srv.name, func(b *testing.B) {
			s := srv.get(b)
			loc := s.NewBucket(b)
			config := fmt.Sprintf("default_project: %s\nprojects:\n  %s:\n    backend: cloud\n    options:\n      url: %q\n      endpoint: %q\n", scope.Project, scope.Project, loc.URL, loc.Endpoint)
			sb := newCLISandbox(b, config, s.Environ()...)
			// Seed the repository with the member identity the CLI will use.
			ctx := context.Background()
			st, err := cloud.Open(ctx, scope, cloud.Options{URL: loc.URL, Endpoint: loc.Endpoint, Env: secrets.Env{HomeDir: sb.home, Getenv: func(k string) string { return s.Env[k] }}})
			if err != nil {
				b.Fatal(err)
			}
			values := make(map[string]string, cloudBenchSecrets)
			for i := range cloudBenchSecrets {
				values[seed.Name(i)] = seed.Value(i)
			}
			if err := secrets.SetMany(ctx, st, values, true); err != nil {
				b.Fatal(err)
			}
			_, path, _ := strings.Cut(secrets.Unwrap(st).(*cloud.Store).Location(), "://")
			secrets.Close(st)
			bucket, key, _ := strings.Cut(path, "/")
			raw := []string{"-server", s.Name, "-endpoint", s.Endpoint, "-bucket", bucket, "-key", key}

			b.Run("run", func(b *testing.B) {
				var backend, floor time.Duration
				for b.Loop() {
					backend += sb.time(b, "dstack-secrets", "run", "--", "/bin/true")
					floor += sb.time(b, "rawget", raw...)
				}
				reportFloor(b, backend, floor, 0)
			})
			b.Run("add", func(b *testing.B) {
				// The floor rewrites a scratch copy of the store's object.
				// A fresh one each time: with -count the function runs
				// again on the same bucket.
				floorKey := key + "." + cloudtest.RandomName("floor")
				scratch := append(raw[:len(raw)-1:len(raw)-1], floorKey)
				cb := rawClient(b, s, bucket, key)
				data, _ := cb.rawGet(b, ctx)
				cb.rawPut(b, ctx, floorKey, data, nil)
				var backend, floor time.Duration
				i := 0
				for b.Loop() {
					i++
					backend += sb.time(b, "dstack-secrets", "add", "-y", seed.Name(i%cloudBenchSecrets), fmt.Sprintf("tok_%036d", i))
					floor += sb.time(b, "rawget", append(scratch, "-put")...)
				}
				reportFloor(b, backend, floor, 0)
			})
		})
	}
	b.Run("vault", func(b *testing.B) {
		for _, layout := range []string{vault.LayoutEntry, vault.LayoutBundle} {
			b.Run(layout, func(b *testing.B) {
				prefix := "bench-cli-" + layout
				st := openVault(b, prefix, layout)
				values := make(map[string]string, cloudBenchSecrets)
				for i := range cloudBenchSecrets {
					values[seed.Name(i)] = seed.Value(i)
				}
				if err := secrets.SetMany(context.Background(), st, values, true); err != nil {
					b.Fatal(err)
				}
				config := fmt.Sprintf("default_project: %s\nprojects:\n  %s:\n    backend: vault\n    options:\n      mount: secret\n      prefix: %s\n      layout: %s\n", scope.Project, scope.Project, prefix, layout)
				sb := newCLISandbox(b, config, "VAULT_ADDR="+os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), "VAULT_TOKEN="+os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN"))
				var backend time.Duration
				for b.Loop() {
					backend += sb.time(b, "dstack-secrets", "run", "--", "/bin/true")
				}
				b.ReportMetric(float64(backend.Nanoseconds())/float64(b.N), "ns/op")
			})
		}
	})
}
