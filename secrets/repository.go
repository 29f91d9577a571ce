package secrets

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DetectRepository returns the normalised identity of the git repository
// that contains dir, reading .git directly (the git binary is not needed).
//
// The identity is the "origin" remote's URL normalised by
// NormalizeRepository, so that every clone of one repository, over SSH or
// HTTPS, shares its secrets. A repository without an origin remote is
// identified by the absolute path of its main working tree. Linked worktrees
// (where .git is a file) and submodules are followed to the repository they
// belong to. Outside any repository the error wraps ErrNotInRepository.
//
// As git does (safe.directory), a repository whose working tree or git
// directory another user owns is refused with an error wrapping
// ErrPermission, since its origin remote decides whose secrets are used,
// unless git's own safe.directory setting allows it.
func DetectRepository(dir string) (string, error) {
	info, err := DetectRepositoryInfo(dir)
	return info.Identity, err
}

// RepositoryInfo describes the git repository that contains a directory,
// as DetectRepositoryInfo finds it.
type RepositoryInfo struct {
	// Identity is the repository identity, as DetectRepository returns it.
	Identity string
	// WorkTree is the absolute path of the repository's main working tree
	// (for a linked worktree, the one it was added from).
	WorkTree string
	// PathIdentity is the identity the repository has when it has no
	// origin remote: WorkTree, normalised. It equals Identity when the
	// repository has no origin remote.
	PathIdentity string
}

// DetectRepositoryInfo is DetectRepository that also returns where the
// repository's working tree is and the identity it would have without an
// origin remote, so that a program can recognise secrets stored before a
// remote was added.
func DetectRepositoryInfo(dir string) (RepositoryInfo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return RepositoryInfo{}, fmt.Errorf("%w: %v", ErrNotInRepository, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	for cur := abs; ; {
		info, found, err := repositoryAt(cur)
		if err != nil {
			return RepositoryInfo{}, err
		}
		if found {
			return info, nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			break
		}
		cur = parent
	}
	return RepositoryInfo{}, fmt.Errorf("%w: %s is not inside a git repository; cd into the repository whose secrets you want, or pass --repo (a remote URL such as github.com/org/repo, or a repository path)", ErrNotInRepository, Printable(abs))
}

// repositoryAt reports whether top holds a .git entry and, if so, the
// repository it belongs to.
func repositoryAt(top string) (RepositoryInfo, bool, error) {
	dotgit := filepath.Join(top, ".git")
	fi, err := os.Stat(dotgit)
	if errors.Is(err, fs.ErrNotExist) {
		return RepositoryInfo{}, false, nil
	}
	if err != nil {
		return RepositoryInfo{}, false, fmt.Errorf("%w: cannot read %s: %v", ErrNotInRepository, Printable(dotgit), err)
	}
	gitDir := dotgit
	if !fi.IsDir() {
		data, err := os.ReadFile(dotgit)
		if err != nil {
			return RepositoryInfo{}, false, fmt.Errorf("%w: cannot read %s: %v", ErrNotInRepository, Printable(dotgit), err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		target, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
		if !ok {
			return RepositoryInfo{}, false, fmt.Errorf("%w: %s is a file without a \"gitdir:\" line; is the repository damaged?", ErrNotInRepository, Printable(dotgit))
		}
		gitDir = resolvePath(top, strings.TrimSpace(target))
	}
	commonDir := gitDir
	if data, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		commonDir = resolvePath(gitDir, strings.TrimSpace(string(data)))
	}
	if _, err := os.Stat(filepath.Join(commonDir, "HEAD")); err != nil {
		// Not a git directory (a stray .git entry); keep looking upwards.
		return RepositoryInfo{}, false, nil
	}
	mainTop := top
	if commonDir != gitDir && filepath.Base(commonDir) == ".git" {
		mainTop = filepath.Dir(commonDir)
	}
	if err := checkRepositoryOwner(top, dotgit, gitDir); err != nil {
		return RepositoryInfo{}, false, err
	}
	remote, err := originURL(filepath.Join(commonDir, "config"))
	if err != nil {
		return RepositoryInfo{}, false, err
	}
	local, lerr := normalizeLocal(mainTop)
	if remote == "" {
		return RepositoryInfo{Identity: local, WorkTree: mainTop, PathIdentity: local}, true, lerr
	}
	if lerr != nil {
		local = "" // a path that cannot be an identity: only the remote can
	}
	if isLocalRemote(remote) && !filepath.IsAbs(remote) && !strings.HasPrefix(remote, "file:") {
		remote = resolvePath(mainTop, remote)
	}
	id, err := NormalizeRepository(remote)
	if err != nil {
		return RepositoryInfo{}, false, fmt.Errorf("the origin remote of %s: %w", Printable(mainTop), err)
	}
	return RepositoryInfo{Identity: id, WorkTree: mainTop, PathIdentity: local}, true, nil
}

func resolvePath(base, p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p)
}

// originURL reads the first url of [remote "origin"] from a git config file.
// A missing file gives "".
func originURL(configPath string) (string, error) {
	data, err := os.ReadFile(configPath)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: cannot read %s: %v", ErrNotInRepository, Printable(configPath), err)
	}
	return gitConfigValue(data, "remote", "origin", "url"), nil
}

// gitConfigValue returns the first value of section.subsection.key in a git
// config file (git-config(1) syntax: case-insensitive section and key names,
// case-sensitive subsection, quotes, escapes, comments, continuation lines).
func gitConfigValue(data []byte, section, subsection, key string) string {
	var first string
	gitConfigEach(data, func(header string) bool { return matchSection(header, section, subsection) }, key, func(v string) bool {
		first = v
		return false
	})
	return first
}

// gitConfigValues returns every value of section.key, for a section
// without subsection such as [safe], in file order.
func gitConfigValues(data []byte, section, key string) []string {
	var values []string
	gitConfigEach(data, func(header string) bool { return strings.EqualFold(strings.TrimSpace(header), section) }, key, func(v string) bool {
		values = append(values, v)
		return true
	})
	return values
}

// gitConfigEach calls fn with each value of key in the sections whose
// header (between the brackets) match accepts, until fn returns false.
func gitConfigEach(data []byte, match func(header string) bool, key string, fn func(value string) bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	// Lines up to 1 MiB; the buffer, the size of data or 4 KiB at first,
	// grows as a longer line needs.
	sc.Buffer(make([]byte, 0, min(len(data)+1, 4096)), 1024*1024)
	inSection := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.LastIndexByte(line, ']')
			if end < 0 {
				inSection = false
				continue
			}
			inSection = match(line[1:end])
			rest := strings.TrimSpace(line[end+1:])
			if rest == "" || rest[0] == '#' || rest[0] == ';' {
				continue
			}
			line = rest // "[section] key = value" on one line
		}
		if !inSection {
			continue
		}
		name, value, hasValue := strings.Cut(line, "=")
		if !strings.EqualFold(strings.TrimSpace(name), key) || !hasValue {
			continue
		}
		for strings.HasSuffix(value, "\\") && !strings.HasSuffix(value, "\\\\") && sc.Scan() {
			value = value[:len(value)-1] + sc.Text()
		}
		if !fn(parseGitValue(value)) {
			return
		}
	}
}

func matchSection(header, section, subsection string) bool {
	header = strings.TrimSpace(header)
	if name, sub, ok := strings.Cut(header, " "); ok {
		sub = strings.TrimSpace(sub)
		if len(sub) >= 2 && sub[0] == '"' && sub[len(sub)-1] == '"' {
			sub = unescapeSubsection(sub[1 : len(sub)-1])
		}
		return strings.EqualFold(name, section) && sub == subsection
	}
	// Deprecated [section.subsection] syntax: subsection is case-insensitive.
	name, sub, ok := strings.Cut(header, ".")
	return ok && strings.EqualFold(name, section) && strings.EqualFold(sub, subsection)
}

// unescapeSubsection undoes the escapes of a quoted subsection name as
// git-config(1) reads them: \" is a quote, \\ a backslash, and a backslash
// before any other character is dropped.
func unescapeSubsection(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func parseGitValue(v string) string {
	var b strings.Builder
	inQuote := false
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == '\\' && i+1 < len(v):
			i++
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			default:
				b.WriteByte(v[i])
			}
		case (c == '#' || c == ';') && !inQuote:
			return strings.TrimSpace(b.String())
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// isLocalRemote reports whether a remote URL names a path on this machine.
func isLocalRemote(s string) bool {
	if strings.HasPrefix(s, "file:") {
		return true
	}
	if strings.Contains(s, "://") {
		return false
	}
	return !isSCPLike(s)
}

// splitSCP splits git's scp-like form [user@]host:path, where host may be
// a bracketed IPv6 address. A slash before the colon, or a Windows drive
// letter, means s is a local path instead.
func splitSCP(s string) (host, p string, ok bool) {
	rest := s
	if at := strings.IndexByte(rest, '@'); at >= 0 && !strings.ContainsAny(rest[:at], `/\:[`) {
		rest = rest[at+1:]
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || end+1 >= len(rest) || rest[end+1] != ':' {
			return "", "", false
		}
		return rest[1:end], rest[end+2:], true
	}
	colon := strings.IndexByte(rest, ':')
	if colon <= 0 || strings.ContainsAny(rest[:colon], `/\`) {
		return "", "", false
	}
	if colon == 1 && len(rest) > 2 && (rest[2] == '\\' || rest[2] == '/') {
		return "", "", false // C:\path or C:/path
	}
	return rest[:colon], rest[colon+1:], true
}

// isSCPLike reports whether s has git's scp-like form [user@]host:path.
func isSCPLike(s string) bool {
	_, _, ok := splitSCP(s)
	return ok
}

// validHost reports whether h (lower-cased) is a DNS name, an IPv4 address
// or an IPv6 address (without brackets): letters, digits, '-', '_', '.' and
// ':', not starting with '.', '-' or ':' unless it is an IPv6 address.
func validHost(h string) bool {
	if h == "" || h[0] == '.' || h[0] == '-' {
		return false
	}
	colons := strings.Count(h, ":")
	if colons == 1 || colons > 0 && h[len(h)-1] == ':' && !strings.HasSuffix(h, "::") {
		return false
	}
	if colons == 0 && h[0] == ':' {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// caseInsensitiveHosts are hosting services whose owner and repository
// names ignore letter case; their paths are lower-cased so that
// github.com/Org/Repo and github.com/org/repo are one repository.
var caseInsensitiveHosts = map[string]bool{"github.com": true, "gitlab.com": true, "bitbucket.org": true}

// NormalizeRepository turns a git remote URL or a repository path into a
// repository identity, so that every spelling of one repository gives the
// same identity:
//
//	git@github.com:org/repo.git         -> github.com/org/repo
//	ssh://git@github.com:22/org/repo    -> github.com/org/repo
//	https://user:token@GitHub.com/org/repo.git/ -> github.com/org/repo
//	github.com/org/repo                 -> github.com/org/repo
//	/home/me/project (or file:///home/me/project) -> /home/me/project
//	./project                           -> /abs/path/of/project
//
// The host is lower-cased; user names, passwords, ports and a trailing
// ".git" or "/" are dropped (credentials are never kept; one host serves one
// set of repositories whatever the port or protocol); the path keeps its
// case except on github.com, gitlab.com and bitbucket.org, which ignore it. A relative local path must start with ./ or ../ and is made
// absolute against the working directory; "x/y" is read as host x, path y. Malformed input gives an error wrapping ErrInvalidScope.
func NormalizeRepository(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: the repository is empty", ErrInvalidScope)
	}
	if strings.ContainsAny(s, "\x00\n\r") {
		return "", fmt.Errorf("%w: the repository has a control character", ErrInvalidScope)
	}
	var host, p string
	switch {
	case strings.HasPrefix(s, "file:"):
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("%w: cannot parse repository URL: %v", ErrInvalidScope, redactURLError(err))
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("%w: file URLs naming a host (%s) are not supported; use the path of the repository as this machine sees it", ErrInvalidScope, Printable(u.Host))
		}
		lp := u.Path
		if len(lp) >= 3 && lp[0] == '/' && lp[2] == ':' && (lp[1]|0x20 >= 'a' && lp[1]|0x20 <= 'z') {
			lp = lp[1:] // file:///C:/repo on Windows
		}
		return normalizeLocal(filepath.FromSlash(lp))
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("%w: cannot parse repository URL: %v", ErrInvalidScope, redactURLError(err))
		}
		if strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") {
			return "", fmt.Errorf("%w: repository URL has an encoded '/' (%%2F) in its path; write the path with plain slashes", ErrInvalidScope)
		}
		host, p = u.Hostname(), u.Path
	case isSCPLike(s):
		host, p, _ = splitSCP(s)
	case filepath.IsAbs(s) || strings.HasPrefix(s, "."):
		return normalizeLocal(s)
	default:
		// host/path without a scheme, such as github.com/org/repo: the form
		// identities take. (Relative paths must start with ./ or ../.) A host
		// without a dot needs two path segments (gitserver/org/repo), so
		// that "org/repo" is not read as host "org".
		first, rest, ok := strings.Cut(s, "/")
		if !ok || first == "" {
			return "", fmt.Errorf("%w: %q is neither a repository URL (such as github.com/org/repo) nor a path (start a relative path with ./)", ErrInvalidScope, printableName(s))
		}
		if !strings.ContainsAny(first, ".:") && first != "localhost" && !strings.Contains(rest, "/") {
			return "", fmt.Errorf("%w: %q has no host; write the repository with its host, such as github.com/%s (a relative path starts with ./)", ErrInvalidScope, printableName(s), Printable(printableName(s)))
		}
		host, p = first, rest
	}
	host = strings.ToLower(strings.TrimRight(host, "."))
	if host == "" {
		return "", fmt.Errorf("%w: repository URL has no host", ErrInvalidScope)
	}
	if !validHost(host) {
		return "", fmt.Errorf("%w: repository host %q is not a host name or IP address", ErrInvalidScope, printableName(host))
	}
	// Clean the path until it stays the same, so that normalizing an
	// identity again gives it back: one pass can leave what a second would
	// change ("x.git.git", "x/..git", ".GIT" on a host whose paths are
	// compared without case). It ends: a pass that changes the path
	// shortens it, except once for case and back-slashes.
	for {
		q := strings.Trim(path.Clean("/"+strings.ReplaceAll(p, `\`, "/")), "/")
		if caseInsensitiveHosts[host] {
			q = strings.ToLower(q)
		}
		q = strings.Trim(strings.TrimSuffix(q, ".git"), "/")
		if q == p {
			break
		}
		p = q
	}
	if p == "" || p == "." {
		return "", fmt.Errorf("%w: repository URL for host %s has no path (expected host/owner/repository)", ErrInvalidScope, host)
	}
	id := host + "/" + p
	if id != strings.TrimSpace(id) {
		return "", fmt.Errorf("%w: the repository path ends with white space", ErrInvalidScope)
	}
	if err := (Scope{Project: "x", Repository: id}).Validate(); err != nil {
		return "", err
	}
	return id, nil
}

// redactURLError drops the URL (which may hold credentials) from a url.Parse
// error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func normalizeLocal(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidScope, err)
	}
	id := filepath.ToSlash(filepath.Clean(abs))
	if id != strings.TrimSpace(id) {
		return "", fmt.Errorf("%w: the repository path %q ends with white space", ErrInvalidScope, printableName(id))
	}
	if id == "/" {
		return "", fmt.Errorf("%w: the file system root is not a repository", ErrInvalidScope)
	}
	if err := (Scope{Project: "x", Repository: id}).Validate(); err != nil {
		return "", err
	}
	return id, nil
}
