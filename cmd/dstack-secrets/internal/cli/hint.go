package cli

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The hint of list, run and get: when the current repository identity
// holds no secrets (or not the one asked for) and another identity of the
// project plausibly is the same repository, say so on stderr with the
// command that moves them. Nothing is ever moved without that command, and
// the hint costs nothing when the current identity has secrets: it runs
// only on the empty (or not-found) path.

// hintTimeout bounds the listing behind a hint: a slow backend gives no
// hint rather than a slow error.
const hintTimeout = 10 * time.Second

// hintMaxOpened bounds how many other repositories get opens to look for
// a missing name.
const hintMaxOpened = 3

// candidate is another identity that may be the current repository's.
type candidate struct {
	identity string
	secrets  int
	why      string
}

// hintMoved prints the hint, if there is one, for the store of r, whose
// repository holds no secrets (name == "") or lacks the secret name.
func (a *app) hintMoved(ctx context.Context, store secrets.Store, r secrets.Resolved, name string) {
	ctx, cancel := context.WithTimeout(ctx, hintTimeout)
	defer cancel()
	repos, err := secrets.Repositories(ctx, store)
	if err != nil {
		return
	}
	current := r.Scope.Repository
	delete(repos, current)
	cands := a.candidates(current, r.Detected, repos)
	if name != "" {
		cands = a.holding(ctx, r, cands, name)
	}
	if len(cands) == 0 {
		return
	}
	best := cands[0]
	var b strings.Builder
	if name == "" {
		fmt.Fprintf(&b, "note: repository %s holds no secrets in project %q, but %s (%s) holds %s",
			secrets.Printable(current), r.Scope.Project, secrets.Printable(best.identity), best.why, countNoun(best.secrets, "secret"))
	} else {
		fmt.Fprintf(&b, "note: %s is not in repository %s, but %s (%s) holds it",
			name, secrets.Printable(current), secrets.Printable(best.identity), best.why)
		if best.secrets > 1 {
			fmt.Fprintf(&b, " and %d more", best.secrets-1)
		}
	}
	fmt.Fprintf(&b, "; if they are this repository's, move them here with: %s", a.moveCommandLine(best.identity))
	if len(cands) > 1 {
		var others []string
		for _, c := range cands[1:] {
			others = append(others, fmt.Sprintf("%s (%s)", secrets.Printable(c.identity), countNoun(c.secrets, "secret")))
		}
		fmt.Fprintf(&b, " (other candidates: %s; dstack-secrets repos lists every repository)", strings.Join(others, ", "))
	}
	fmt.Fprintf(a.Stderr, "dstack-secrets: %s\n", b.String())
}

// candidates returns the identities among repos that plausibly are the
// current repository's, best first: the working tree's path identity (its
// identity before it had an origin remote), the identities recorded for
// the working tree (newest first), then those whose last path segments
// match the current identity's (most matching segments first).
func (a *app) candidates(current string, detected secrets.RepositoryInfo, repos map[string]int) []candidate {
	if len(repos) == 0 {
		// No other repository holds secrets: nothing can be a candidate,
		// and the working tree need not be looked at.
		return nil
	}
	var out []candidate
	add := func(id, why string) {
		if n := repos[id]; n > 0 && !slices.ContainsFunc(out, func(c candidate) bool { return c.identity == id }) {
			out = append(out, candidate{identity: id, secrets: n, why: why})
		}
	}
	if a.repoArgument() == "" && detected.WorkTree != "" {
		add(detected.PathIdentity, "this working tree's path, its identity without an origin remote")
		for _, id := range a.recorded(detected.WorkTree) {
			add(id, "an earlier identity of this working tree")
		}
	}
	type scored struct {
		id    string
		score int
	}
	var similar []scored
	for id := range repos {
		if s := sameTail(current, id); s > 0 {
			similar = append(similar, scored{id, s})
		}
	}
	slices.SortFunc(similar, func(x, y scored) int {
		if x.score != y.score {
			return y.score - x.score
		}
		return strings.Compare(x.id, y.id)
	})
	for _, s := range similar {
		add(s.id, "a repository of the same name")
	}
	return out
}

// sameTail counts the last path segments that two identities share,
// ignoring letter case: github.com/org/repo and gitlab.com/org/repo share
// 2, github.com/other/repo 1.
func sameTail(a, b string) int {
	as := strings.Split(strings.Trim(a, "/"), "/")
	bs := strings.Split(strings.Trim(b, "/"), "/")
	n := 0
	for n < len(as) && n < len(bs) && strings.EqualFold(as[len(as)-1-n], bs[len(bs)-1-n]) {
		n++
	}
	return n
}

// holding keeps the candidates that hold the secret name, looking into at
// most hintMaxOpened of them.
func (a *app) holding(ctx context.Context, r secrets.Resolved, cands []candidate, name string) []candidate {
	var out []candidate
	for _, c := range cands[:min(len(cands), hintMaxOpened)] {
		other := r
		other.Scope.Repository = c.identity
		s, err := a.Registry.OpenResolved(ctx, other)
		if err != nil {
			continue
		}
		names, err := s.List(ctx)
		_ = secrets.Close(s)
		if _, found := slices.BinarySearch(names, name); err == nil && found {
			out = append(out, c)
		}
	}
	return out
}

// moveCommandLine is the command line that moves the secrets of from to the
// current repository, with the global flags this invocation was given.
func (a *app) moveCommandLine(from string) string {
	cmd := "dstack-secrets move --from-repo " + shellWord(from)
	if a.configPath != "" {
		cmd += " --config " + shellWord(a.configPath)
	}
	if a.project != "" {
		cmd += " --project " + shellWord(a.project)
	}
	if a.repo != "" {
		if id, err := secrets.ResolveRepository(a.repo, a.Dir); err == nil {
			cmd += " --to-repo " + shellWord(id)
		}
	}
	return cmd
}

// repoArgument is the repository the flags or the environment name, or ""
// when it is the one containing the working directory.
func (a *app) repoArgument() string {
	if a.repo != "" {
		return a.repo
	}
	return a.Getenv(repoEnvVar)
}

var plainWord = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`) })

// shellWord quotes s for a POSIX shell when it needs quoting; control
// characters are escaped (secrets.Printable), never printed raw.
func shellWord(s string) string {
	if plainWord().MatchString(s) {
		return s
	}
	return "'" + secrets.Printable(strings.ReplaceAll(s, "'", `'\''`)) + "'"
}
