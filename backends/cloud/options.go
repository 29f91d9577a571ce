package cloud

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	gcsecrets "gocloud.dev/secrets"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Name is the backend name used in the project configuration.
const Name = "cloud"

// DefaultTimeout bounds one operation (its requests and its retries) when
// neither the timeout option nor the caller's context sets a shorter one.
const DefaultTimeout = time.Minute

// Options configure the cloud backend. In the project configuration:
//
//	backend: cloud
//	options:
//	  url: s3://team-bucket/dstack?region=eu-west-1
//	  project_id: sha256:...        # members other than the first
//	  # kms: awskms://alias/dstack-secrets?region=eu-west-1
//
// No credential is ever read from the options: each cloud's SDK finds them
// in its standard chain (environment, profile files, instance role).
type Options struct {
	// URL is the bucket and key prefix: s3://BUCKET[/PREFIX][?region=R],
	// gs://BUCKET[/PREFIX] or azblob://CONTAINER[/PREFIX]. The query holds
	// the gocloud.dev/blob driver's settings (region, profile, ...).
	URL string `yaml:"url"`
	// Endpoint is the server URL of an S3-compatible store (MinIO,
	// versitygw, Ceph, ...; path-style addressing is then used), or of an
	// emulator: fake-gcs-server (http://host:port/storage/v1/) or Azurite
	// (http://host:port/ACCOUNT).
	Endpoint string `yaml:"endpoint"`
	// KMS selects KMS mode: the documents' data keys are wrapped by this
	// gocloud.dev/secrets key (awskms://, gcpkms://, azurekeyvault://,
	// hashivault://). Empty means recipients mode.
	KMS string `yaml:"kms"`
	// IdentityFile is this user's key in recipients mode: an age identity
	// file or an SSH ed25519/RSA private key. Default:
	// ~/.dstack/secrets/cloud-identity.key, created on first use.
	IdentityFile string `yaml:"identity_file"`
	// ProjectID pins the project's member list (recipients mode): the
	// project ID ShareAdd and ShareList report. Members other than the
	// project's first one set it (or their client refuses the list).
	ProjectID string `yaml:"project_id"`
	// Timeout bounds each operation, e.g. "30s"; default 1m.
	Timeout string `yaml:"timeout"`

	// Env describes the process: the home directory (for the default
	// identity and the member-list pins) and the terminal prompt (for an
	// encrypted SSH key). The zero value means the real process.
	Env secrets.Env `yaml:"-"`
}

// SetEnv implements secrets.EnvSetter.
func (o *Options) SetEnv(env secrets.Env) { o.Env = env }

// Backend returns the registry entry of the cloud backend.
func Backend() secrets.Backend {
	return secrets.NewBackend(Name, "one age-encrypted object per repository in S3, Google Cloud Storage or Azure Blob, shared by a team", Open)
}

// Open opens the store of scope in the bucket of opts.URL. It makes no
// request: the bucket is first contacted by the first operation, and the
// first write to a project creates its member list (recipients mode) with
// the writer as its first member.
func Open(ctx context.Context, scope secrets.Scope, opts Options) (secrets.Store, error) {
	if err := secrets.CheckOpen(ctx, scope); err != nil {
		return nil, err
	}
	p, err := openProject(ctx, scope.Project, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{project: p, scope: scope, key: repoKey(scope)}
	return secrets.Wrap(s, secrets.Info{Backend: Name, Scope: scope}), nil
}

// project is what the stores of one project share: the bucket, the mode's
// keys and the member-list pin.
type project struct {
	name     string
	opts     Options
	objs     *objects
	bucketID string
	timeout  time.Duration
	keeper   *gcsecrets.Keeper
	pins     *pinStore

	idMu sync.Mutex
	id   *localIdentity

	chains chainCache
}

func openProject(ctx context.Context, name string, opts Options) (*project, error) {
	if err := secrets.ValidateProject(name); err != nil {
		return nil, err
	}
	u, prefix, err := parseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	p := &project{name: name, opts: opts, timeout: DefaultTimeout, bucketID: u.Scheme + "://" + u.Host + "/" + prefix}
	if opts.Timeout != "" {
		if p.timeout, err = time.ParseDuration(opts.Timeout); err != nil || p.timeout <= 0 {
			return nil, fmt.Errorf("%w: cloud backend: timeout %q is not a positive duration such as 30s or 2m", secrets.ErrInvalidConfig, opts.Timeout)
		}
	}
	if opts.ProjectID != "" && !strings.HasPrefix(opts.ProjectID, "sha256:") {
		return nil, fmt.Errorf("%w: cloud backend: project_id %q is not a project ID (sha256:...; ShareList prints it)", secrets.ErrInvalidConfig, opts.ProjectID)
	}
	if opts.KMS != "" {
		if opts.ProjectID != "" || opts.IdentityFile != "" {
			return nil, fmt.Errorf("%w: cloud backend: project_id and identity_file belong to recipients mode; with kms set, access is granted by the KMS key's policy", secrets.ErrInvalidConfig)
		}
		if p.keeper, err = openKeeper(ctx, &p.opts); err != nil {
			return nil, err
		}
	} else if p.pins, err = newPinStore(&p.opts, p.bucketID, name); err != nil {
		return nil, err
	}
	if p.objs, err = openObjects(ctx, u, prefix, opts.Endpoint); err != nil {
		if p.keeper != nil {
			p.keeper.Close()
		}
		return nil, err
	}
	return p, nil
}

func (p *project) close() error {
	err := p.objs.close()
	if p.keeper != nil {
		if kerr := p.keeper.Close(); err == nil {
			err = kerr
		}
	}
	return err
}

// identity loads this user's identity once.
func (p *project) identity(ctx context.Context) (*localIdentity, error) {
	p.idMu.Lock()
	defer p.idMu.Unlock()
	if p.id == nil {
		id, err := loadIdentity(ctx, &p.opts)
		if err != nil {
			return nil, err
		}
		p.id = id
	}
	return p.id, nil
}

// opCtx bounds an operation by the timeout.
func (p *project) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.timeout)
}

// parseURL checks the url option and splits off the key prefix.
func parseURL(raw string) (*url.URL, string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: cloud backend: url %q: %s; write s3://BUCKET/PREFIX?region=R, gs://BUCKET/PREFIX or azblob://CONTAINER/PREFIX", secrets.ErrInvalidConfig, redactURL(raw), why)
	}
	if raw == "" {
		return nil, "", bad("the url option is missing")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", bad("it does not parse")
	}
	switch {
	case u.Scheme != "s3" && u.Scheme != "gs" && u.Scheme != "azblob":
		return nil, "", bad(fmt.Sprintf("scheme %q is not s3, gs or azblob", u.Scheme))
	case u.Host == "":
		return nil, "", bad("the bucket name is missing")
	case u.User != nil:
		return nil, "", bad("credentials never go in the configuration (each cloud's SDK finds them in its standard chain)")
	case u.Fragment != "":
		return nil, "", bad("it has a #fragment")
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return nil, "", bad("the prefix has an empty, '.' or '..' segment")
			}
		}
		prefix += "/"
	}
	for k := range u.Query() {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "secret") || strings.Contains(lk, "password") || strings.Contains(lk, "sas") || lk == "key" || lk == "token" {
			return nil, "", bad(fmt.Sprintf("query parameter %q looks like a credential; credentials never go in the configuration", k))
		}
	}
	return u, prefix, nil
}

// repoKey is the object of scope's repository, under the prefix:
// PROJECT/repos/HOST/PATH.age for a repository with a remote, and
// PROJECT/local/PATH.age for a local-only one (an absolute path).
func repoKey(scope secrets.Scope) string {
	if strings.HasPrefix(scope.Repository, "/") {
		return scope.Project + "/local" + scope.Repository + docSuffix
	}
	return scope.Project + "/repos/" + scope.Repository + docSuffix
}

// repoFromKey is the inverse of repoKey; ok is false for other objects.
func repoFromKey(project, key string) (string, bool) {
	rest, ok := strings.CutSuffix(key, docSuffix)
	if !ok {
		return "", false
	}
	if r, ok := strings.CutPrefix(rest, project+"/repos/"); ok {
		return r, true
	}
	if r, ok := strings.CutPrefix(rest, project+"/local/"); ok {
		return "/" + r, true
	}
	return "", false
}

const docSuffix = ".age"

// membersKey is the object of the project's member list.
func membersKey(project string) string { return project + "/members.json" }
