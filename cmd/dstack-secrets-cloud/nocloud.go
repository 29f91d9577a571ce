// This file stands in for cloud.go until backends/cloud is merged: the
// program then serves no backend and its commands say so. Once
// backends/cloud is in the module, delete this file and the first lines
// of cloud.go and program_test.go (their build constraint).

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/dstackai/dstack-secrets/secrets"
)

// serveEnv are the variables the cloud backend reads through secrets.Env.
var serveEnv []string

func backends() []secrets.Backend { return nil }

var errNoCloud = fmt.Errorf("%w: this dstack-secrets-cloud was built without the cloud backend (from a checkout without backends/cloud)", secrets.ErrUnavailable)

func identity(context.Context, secrets.Options, secrets.Env, io.Writer, io.Writer) error {
	return errNoCloud
}

func shareList(context.Context, string, secrets.Options, secrets.Env, io.Writer) error {
	return errNoCloud
}

func shareAdd(context.Context, string, string, string, secrets.Options, secrets.Env, io.Writer) error {
	return errNoCloud
}

func shareRemove(context.Context, string, string, secrets.Options, secrets.Env, io.Writer) error {
	return errNoCloud
}
