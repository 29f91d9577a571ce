package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/dstackai/dstack-secrets/backends/cloud"
	"github.com/dstackai/dstack-secrets/secrets"
)

// serveEnv are the variables the cloud backend reads through secrets.Env:
// dstack-secrets sends their values when it opens a store here. The cloud
// SDKs read their own (AWS_*, GOOGLE_*, AZURE_*, VAULT_* for the
// hashivault KMS) from the process environment, which is dstack-secrets'.
var serveEnv = []string{cloud.SSHPassphraseEnvVar, "VAULT_ADDR", "VAULT_TOKEN"}

func backends() []secrets.Backend { return []secrets.Backend{cloud.Backend()} }

// options decodes a project's options as the backend does when it opens a
// store.
func options(opts secrets.Options, env secrets.Env) (cloud.Options, error) {
	var o cloud.Options
	if err := opts.Decode(cloud.Name, &o); err != nil {
		return o, err
	}
	o.SetEnv(env)
	return o, nil
}

func identity(ctx context.Context, opts secrets.Options, env secrets.Env, stdout, stderr io.Writer) error {
	o, err := options(opts, env)
	if err != nil {
		return err
	}
	m, err := cloud.Identity(ctx, o)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout, m.Key); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "dstack-secrets: this is your member key (%s): send it to a member of the project, who adds you with 'dstack-secrets share add KEY'\n", m.Fingerprint)
	return nil
}

func shareList(ctx context.Context, project string, opts secrets.Options, env secrets.Env, stdout io.Writer) error {
	o, err := options(opts, env)
	if err != nil {
		return err
	}
	pm, err := cloud.ShareList(ctx, project, o)
	if err != nil {
		return err
	}
	var b strings.Builder
	writeMembers(&b, project, pm)
	_, err = io.WriteString(stdout, b.String())
	return err
}

func writeMembers(b *strings.Builder, project string, pm cloud.ProjectMembers) {
	fmt.Fprintf(b, "Project %q, project ID %s (member list version %d)\n", project, pm.ProjectID, pm.Version)
	for _, m := range pm.Members {
		access := "can write"
		if !m.CanWrite {
			access = "read only"
		}
		fmt.Fprintf(b, "  %s  %-9s  %s\n", m.Fingerprint, access, m.Name)
	}
}

func shareAdd(ctx context.Context, project, key, name string, opts secrets.Options, env secrets.Env, stdout io.Writer) error {
	o, err := options(opts, env)
	if err != nil {
		return err
	}
	r, err := cloud.ShareAdd(ctx, project, key, name, o)
	if err != nil {
		return err
	}
	var b strings.Builder
	m, _ := cloud.ParseMemberKey(key)
	if name != "" {
		m.Name = name
	}
	if r.Changed {
		fmt.Fprintf(&b, "Added %s to project %q\n", m, project)
	} else {
		fmt.Fprintf(&b, "%s was already a member of project %q\n", m, project)
	}
	writeRewritten(&b, r.Rewritten)
	fmt.Fprintf(&b, "The new member puts this under the project's options in their configuration:\n  project_id: %s\n"+
		"Give it to them through a channel that the bucket's writers do not control (a chat with them, the repository's reviewed configuration).\n", r.ProjectID)
	_, err = io.WriteString(stdout, b.String())
	return err
}

func shareRemove(ctx context.Context, project, key string, opts secrets.Options, env secrets.Env, stdout io.Writer) error {
	o, err := options(opts, env)
	if err != nil {
		return err
	}
	r, err := cloud.ShareRemove(ctx, project, key, o)
	if err != nil {
		return err
	}
	var b strings.Builder
	if r.Changed {
		fmt.Fprintf(&b, "Removed %s from project %q\n", key, project)
	} else {
		fmt.Fprintf(&b, "%s is not a member of project %q\n", key, project)
	}
	writeRewritten(&b, r.Rewritten)
	if len(r.Exposed) > 0 {
		b.WriteString("Rotate these secrets: the removed member could read them and may have kept copies:\n")
		for _, repo := range secrets.SortedNames(r.Exposed) {
			fmt.Fprintf(&b, "  %s: %s\n", repo, strings.Join(r.Exposed[repo], ", "))
		}
	}
	if r.Changed {
		b.WriteString("Revoke the removed member's access to the bucket too.\n")
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

func writeRewritten(b *strings.Builder, repos []string) {
	if len(repos) > 0 {
		fmt.Fprintf(b, "Re-encrypted %d repositories: %s\n", len(repos), strings.Join(repos, ", "))
	}
}
