package cloud_test

import (
	"context"
	"fmt"
	"log"

	"github.com/dstackai/dstack-secrets/backends/cloud"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Open the store of one repository in an S3 bucket. Credentials come from
// the AWS credential chain (environment, ~/.aws, instance role), never from
// the options. The first write creates the project's member list, with the
// writer (the identity in ~/.dstack/secrets/cloud-identity.key, created on
// first use) as its first member.
func ExampleOpen() {
	ctx := context.Background()
	scope := secrets.Scope{Project: "team", Repository: "github.com/org/repo"}
	store, err := cloud.Open(ctx, scope, cloud.Options{
		URL: "s3://team-secrets/dstack?region=eu-west-1",
		// Members other than the first pin the member list:
		// ProjectID: "sha256:...",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(store)
	if err := store.Set(ctx, "DB_PASSWORD", "hunter2"); err != nil {
		log.Fatal(err)
	}
	env, err := secrets.GetAll(ctx, store) // one GET
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(env))
}

// Add a team member. They print their key with cloud.Identity (the CLI's
// `dstack-secrets identity`); an SSH public key works too. Every repository
// of the project is re-encrypted to the new member list, and the report
// carries the project ID the new member sets as project_id.
func ExampleShareAdd() {
	ctx := context.Background()
	opts := cloud.Options{URL: "s3://team-secrets/dstack?region=eu-west-1"}
	report, err := cloud.ShareAdd(ctx, "team", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0n0Vb0Yb8q2h1Zp0HhYt4m8cQZx8d1vJX2m4wqj6mY bob@laptop", "", opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("project_id: %s (%d members, %d repositories re-encrypted)\n", report.ProjectID, len(report.Members), len(report.Rewritten))
}
