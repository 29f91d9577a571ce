package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Identity returns this user's member key in recipients mode (the public
// half of opts.IdentityFile, or of the default identity, which it creates
// on first use). Members give it to ShareAdd.
func Identity(ctx context.Context, opts Options) (Member, error) {
	if err := ctx.Err(); err != nil {
		return Member{}, err
	}
	id, err := loadIdentity(ctx, &opts)
	if err != nil {
		return Member{}, err
	}
	return id.member, nil
}

// ProjectMembers is the member list of a project.
type ProjectMembers struct {
	// ProjectID identifies the member list (the hash of its first
	// version); members other than the first set it as the project_id
	// option.
	ProjectID string
	// Version counts the changes of the list (1: as created).
	Version int
	// Members are the current members.
	Members []Member
}

// ShareReport says what ShareAdd or ShareRemove did.
type ShareReport struct {
	ProjectMembers
	// Changed is false when the key was already a member (ShareAdd) or
	// not one (ShareRemove); the repositories were still brought up to
	// date.
	Changed bool
	// Rewritten lists the repositories whose object was re-encrypted to
	// the new member list.
	Rewritten []string
	// Exposed maps each repository the removed member could decrypt to
	// the names of its secrets then: those must be rotated (ShareRemove).
	Exposed map[string][]string
}

// ShareList returns the trusted member list of project.
func ShareList(ctx context.Context, project string, opts Options) (ProjectMembers, error) {
	p, err := openRecipientsProject(ctx, project, opts)
	if err != nil {
		return ProjectMembers{}, err
	}
	defer p.close()
	ctx, cancel := p.opCtx(ctx)
	defer cancel()
	c, _, err := p.loadMembers(ctx)
	if err != nil {
		return ProjectMembers{}, err
	}
	return membersOf(c), nil
}

// ShareAdd makes key (see ParseMemberKey) a member of project, with name as
// its label when not empty, and re-encrypts every repository of the project
// to the new member list. Only a member who can write may add members.
func ShareAdd(ctx context.Context, project, key, name string, opts Options) (ShareReport, error) {
	m, err := ParseMemberKey(key)
	if err != nil {
		return ShareReport{}, err
	}
	if name != "" {
		m.Name = name
	}
	return changeMembers(ctx, project, opts, func(cur []Member, _ string) ([]Member, *Member, error) {
		if slices.ContainsFunc(cur, func(x Member) bool { return x.Fingerprint == m.Fingerprint }) {
			return nil, nil, nil
		}
		return append(slices.Clone(cur), m), nil, nil
	})
}

// ShareRemove removes the member key (a member key, or a fingerprint
// "SHA256:...") from project and re-encrypts every repository of the
// project without it. The report's Exposed lists the secrets the removed
// member could read: rotate them, since the member may have kept copies
// (and, with read access to the bucket's old object versions, can still
// read them there).
func ShareRemove(ctx context.Context, project, key string, opts Options) (ShareReport, error) {
	fp := strings.TrimSpace(key)
	if !strings.HasPrefix(fp, "SHA256:") {
		m, err := ParseMemberKey(key)
		if err != nil {
			return ShareReport{}, err
		}
		fp = m.Fingerprint
	}
	return changeMembers(ctx, project, opts, func(cur []Member, me string) ([]Member, *Member, error) {
		i := slices.IndexFunc(cur, func(x Member) bool { return x.Fingerprint == fp })
		if i < 0 {
			return nil, nil, nil
		}
		removed := cur[i]
		if removed.Fingerprint == me {
			return nil, nil, fmt.Errorf("%w: %s cannot remove itself (its signature would no longer be trusted for re-encrypting the repositories); ask another member to remove it", secrets.ErrInvalidConfig, removed)
		}
		next := slices.Delete(slices.Clone(cur), i, i+1)
		if !slices.ContainsFunc(next, func(x Member) bool { return x.CanWrite }) {
			return nil, nil, fmt.Errorf("%w: removing %s would leave project %q without a member who can write; add another member first", secrets.ErrInvalidConfig, removed, project)
		}
		return next, &removed, nil
	})
}

// openRecipientsProject opens project for the member functions.
func openRecipientsProject(ctx context.Context, project string, opts Options) (*project, error) {
	if opts.KMS != "" {
		return nil, fmt.Errorf("%w: project %q is in KMS mode: who can read it is decided by the KMS key's policy, not by a member list", secrets.ErrInvalidConfig, project)
	}
	return openProject(ctx, project, opts)
}

func membersOf(c *chain) ProjectMembers {
	return ProjectMembers{ProjectID: c.id(), Version: c.epoch(), Members: slices.Clone(c.current())}
}

// loadMembers returns the trusted member list of the project and the
// version of its object.
func (p *project) loadMembers(ctx context.Context) (*chain, version, error) {
	trusted, err := p.pins.load()
	if err != nil {
		return nil, version{}, err
	}
	data, ver, err := p.objs.get(ctx, membersKey(p.name))
	if err != nil {
		return nil, version{}, err
	}
	var candidate *chain
	if ver.exists {
		var f membersFile
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, version{}, fmt.Errorf("%w: the member list %s does not decode; restore a previous version of the object", secrets.ErrCorrupt, p.objs.location(membersKey(p.name)))
		}
		if candidate, err = p.chains.verify(p.name, &f); err != nil {
			return nil, version{}, fmt.Errorf("%s: %w", p.objs.location(membersKey(p.name)), err)
		}
	}
	me, err := p.identity(ctx)
	if err != nil {
		return nil, version{}, err
	}
	c, err := trustChain(p.name, p.objs.location(membersKey(p.name)), candidate, trusted, p.opts.ProjectID, me.member.Fingerprint)
	if err != nil {
		return nil, version{}, err
	}
	if c == nil {
		return nil, version{}, fmt.Errorf("%w: project %q has no member list at %s yet: its first write creates it, with the writer as its first member", secrets.ErrNotFound, p.name, p.objs.location(membersKey(p.name)))
	}
	if err := p.pins.save(c); err != nil {
		return nil, version{}, err
	}
	return c, ver, nil
}

// changeMembers applies change to the member list (nil, nil: no change;
// me is this identity's fingerprint),
// then re-encrypts every repository of the project to the list.
func changeMembers(ctx context.Context, project string, opts Options, change func(cur []Member, me string) ([]Member, *Member, error)) (ShareReport, error) {
	p, err := openRecipientsProject(ctx, project, opts)
	if err != nil {
		return ShareReport{}, err
	}
	defer p.close()
	ctx, cancel := p.opCtx(ctx)
	defer cancel()
	me, err := p.identity(ctx)
	if err != nil {
		return ShareReport{}, err
	}
	var (
		report  ShareReport
		c       *chain
		removed *Member
	)
	for attempt := 1; ; attempt++ {
		var ver version
		if c, ver, err = p.loadMembers(ctx); err != nil {
			return report, err
		}
		if m, ok := c.find(me.member.Fingerprint); !ok || !m.CanWrite {
			return report, fmt.Errorf("%w: this identity (%s) is not a member of project %q who can write, so it cannot change the member list", secrets.ErrPermission, me.member.Fingerprint, project)
		}
		next, rm, err := change(c.current(), me.member.Fingerprint)
		if err != nil {
			return report, err
		}
		if next == nil {
			break
		}
		f, err := newStatement(project, c, next, me)
		if err != nil {
			return report, err
		}
		nc, err := verifyChain(project, f)
		if err != nil {
			return report, err
		}
		data, err := json.Marshal(f)
		if err != nil {
			return report, err
		}
		err = p.objs.put(ctx, membersKey(project), data, ver)
		if errors.Is(err, errPrecondition) {
			if werr := backoff(ctx, attempt); werr != nil {
				return report, fmt.Errorf("%w: the member list of project %q kept changing: %w", secrets.ErrConflict, project, werr)
			}
			continue
		}
		if err != nil {
			return report, err
		}
		if err := p.pins.save(nc); err != nil {
			return report, err
		}
		c, removed, report.Changed = nc, rm, true
		break
	}
	report.ProjectMembers = membersOf(c)
	report.Rewritten, report.Exposed, err = p.reencryptAll(ctx, c, removed)
	return report, err
}

// reencryptAll rewrites every repository object of the project whose
// member list is not c's, and collects what removed could read.
func (p *project) reencryptAll(ctx context.Context, c *chain, removed *Member) ([]string, map[string][]string, error) {
	var rewritten []string
	exposed := map[string][]string{}
	for _, dir := range []string{p.name + "/repos/", p.name + "/local/"} {
		keys, err := p.objs.list(ctx, dir)
		if err != nil {
			return rewritten, exposed, err
		}
		for _, key := range keys {
			repo, ok := repoFromKey(p.name, key)
			if !ok {
				continue
			}
			scope := secrets.Scope{Project: p.name, Repository: repo}
			if scope.Validate() != nil {
				continue
			}
			s := &Store{project: p, scope: scope, key: key, trustOldSigners: true}
			did := false
			err := s.update(ctx, func(cur *current, values map[string]string) (bool, error) {
				if removed != nil && cur.doc != nil && slices.ContainsFunc(cur.doc.body.Recipients, func(r string) bool {
					fp, _, _ := strings.Cut(r, " ")
					return fp == removed.Fingerprint
				}) {
					exposed[repo] = secrets.SortedNames(values)
				}
				did = cur.doc != nil && cur.doc.body.MembersHead != c.head()
				return did, nil
			})
			if err != nil {
				return rewritten, exposed, fmt.Errorf("re-encrypting repository %s (the member list is already changed; run the command again to finish): %w", repo, err)
			}
			if did {
				rewritten = append(rewritten, repo)
			}
		}
	}
	if len(exposed) == 0 {
		exposed = nil
	}
	return rewritten, exposed, nil
}
