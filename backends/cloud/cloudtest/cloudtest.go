// Package cloudtest gives tests of the cloud backend fresh buckets on the
// real object stores that scripts/services/{s3,azurite,gcs,seaweedfs}.sh
// start (versitygw, Azurite, fake-gcs-server, SeaweedFS), and transit keys on the Vault dev
// server of scripts/services/vault.sh. A server that is not running skips
// the test, or fails it when DSTACK_SECRETS_TEST_REQUIRE_SERVICES is set
// (as scripts/test does).
package cloudtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	vaultapi "github.com/hashicorp/vault/api"
	"google.golang.org/api/option"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Server is one object store server.
type Server struct {
	// Name is "s3" (versitygw), "azurite", "gcs" (fake-gcs-server) or
	// "seaweedfs" (an S3 server too).
	Name string
	// Endpoint is the value of the backend's endpoint option for it.
	Endpoint string
	// Bin is the server's binary (for tests that start their own).
	Bin string
	// Env holds the credential variables of the cloud's standard chain
	// (AWS_ACCESS_KEY_ID, AZURE_STORAGE_KEY, ...) for the server.
	Env map[string]string
}

func require(t testing.TB, what, how string) {
	t.Helper()
	msg := fmt.Sprintf("no %s: run scripts/test, or in bash `%s` before go test", what, how)
	if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
		t.Fatal(msg + " (DSTACK_SECRETS_TEST_REQUIRE_SERVICES is set, so this is a failure)")
	}
	t.Skip(msg)
}

// S3 returns the versitygw server of scripts/services/s3.sh.
func S3(t testing.TB) Server {
	t.Helper()
	return s3Server(t, "s3", "S3", "S3 server (versitygw)", "source scripts/services/s3.sh && s3_install && s3_start")
}

// SeaweedFS returns the single-node SeaweedFS (`weed mini`, S3 gateway) of
// scripts/services/seaweedfs.sh. It is an S3 server: its stores use s3://
// URLs and its client is S3Client.
func SeaweedFS(t testing.TB) Server {
	t.Helper()
	return s3Server(t, "seaweedfs", "SEAWEEDFS", "SeaweedFS S3 server", "source scripts/services/seaweedfs.sh && seaweedfs_install && seaweedfs_start")
}

// s3Server returns the S3 server that a service script describes in
// DSTACK_SECRETS_TEST_<prefix>_{ENDPOINT,BIN,ACCESS_KEY,SECRET_KEY}; what
// and how say, when it is missing, what it is and how to start it.
func s3Server(t testing.TB, name, prefix, what, how string) Server {
	t.Helper()
	env := func(key string) string { return os.Getenv("DSTACK_SECRETS_TEST_" + prefix + "_" + key) }
	e := env("ENDPOINT")
	if e == "" {
		require(t, what, how)
	}
	return Server{Name: name, Endpoint: e, Bin: env("BIN"), Env: map[string]string{
		"AWS_ACCESS_KEY_ID":         env("ACCESS_KEY"),
		"AWS_SECRET_ACCESS_KEY":     env("SECRET_KEY"),
		"AWS_REGION":                "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true",
	}}
}

// Azurite returns the Azurite server of scripts/services/azurite.sh.
func Azurite(t testing.TB) Server {
	t.Helper()
	e := os.Getenv("DSTACK_SECRETS_TEST_AZURITE_ENDPOINT")
	if e == "" {
		require(t, "Azure Blob emulator (Azurite)", "source scripts/services/azurite.sh && azurite_install && azurite_start")
	}
	return Server{Name: "azurite", Endpoint: e, Bin: os.Getenv("DSTACK_SECRETS_TEST_AZURITE_BIN"), Env: map[string]string{
		"AZURE_STORAGE_ACCOUNT": os.Getenv("DSTACK_SECRETS_TEST_AZURITE_ACCOUNT"),
		"AZURE_STORAGE_KEY":     os.Getenv("DSTACK_SECRETS_TEST_AZURITE_KEY"),
	}}
}

// GCS returns the fake-gcs-server of scripts/services/gcs.sh.
func GCS(t testing.TB) Server {
	t.Helper()
	e := os.Getenv("DSTACK_SECRETS_TEST_GCS_ENDPOINT")
	if e == "" {
		require(t, "GCS emulator (fake-gcs-server)", "source scripts/services/gcs.sh && gcs_install && gcs_start")
	}
	return Server{Name: "gcs", Endpoint: e, Bin: os.Getenv("DSTACK_SECRETS_TEST_GCS_BIN"), Env: map[string]string{}}
}

// All returns the three servers, in the order s3, azurite, gcs.
func All(t testing.TB) []Server {
	t.Helper()
	return []Server{S3(t), Azurite(t), GCS(t)}
}

// Setenv sets the server's credential variables for the rest of the test
// (the SDKs read them from the process environment).
func (s Server) Setenv(t testing.TB) {
	t.Helper()
	for k, v := range s.Env {
		t.Setenv(k, v)
	}
}

// Environ returns the server's credential variables as KEY=VALUE entries,
// for child processes.
func (s Server) Environ() []string {
	var out []string
	for k, v := range s.Env {
		out = append(out, k+"="+v)
	}
	return out
}

// RandomName returns a fresh lower-case name with prefix, valid as a
// bucket or container name.
func RandomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// Location is where a store lives: the url and endpoint options of the
// cloud backend. (This package does not import the backend, so that the
// backend's own tests can use it.)
type Location struct {
	URL, Endpoint string
}

// NewBucket creates a fresh bucket (container) on the server and returns
// the location of a store in it under the prefix "team". It sets the
// server's credential variables for the test.
func (s Server) NewBucket(t testing.TB) Location {
	t.Helper()
	s.Setenv(t)
	name := RandomName("dstack")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.CreateBucket(ctx, name); err != nil {
		t.Fatalf("%s: creating bucket %s: %v", s.Name, name, err)
	}
	return s.Options(name, "team")
}

// Options returns the location of bucket and prefix on the server.
func (s Server) Options(bucket, prefix string) Location {
	o := Location{Endpoint: s.Endpoint}
	switch s.Name {
	case "s3", "seaweedfs":
		o.URL = "s3://" + bucket + "/" + prefix + "?region=us-east-1"
	case "azurite":
		o.URL = "azblob://" + bucket + "/" + prefix
	case "gcs":
		o.URL = "gs://" + bucket + "/" + prefix + "?anonymous=true"
	}
	return o
}

// CreateBucket creates a bucket (container) with the server's own SDK.
func (s Server) CreateBucket(ctx context.Context, name string) error {
	switch s.Name {
	case "s3", "seaweedfs":
		_, err := s.S3Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		return err
	case "azurite":
		c, err := s.AzureClient()
		if err != nil {
			return err
		}
		_, err = c.CreateContainer(ctx, name, nil)
		return err
	case "gcs":
		c, err := s.GCSClient(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Bucket(name).Create(ctx, "dstack-secrets-test", nil)
	}
	return fmt.Errorf("unknown server %q", s.Name)
}

// S3Client is an S3 client of the server (versitygw or SeaweedFS).
func (s Server) S3Client() *s3.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(s.Env["AWS_ACCESS_KEY_ID"], s.Env["AWS_SECRET_ACCESS_KEY"], "")}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	})
}

// AzureClient is an Azure Blob client of the server (Azurite).
func (s Server) AzureClient() (*azblob.Client, error) {
	cred, err := azblob.NewSharedKeyCredential(s.Env["AZURE_STORAGE_ACCOUNT"], s.Env["AZURE_STORAGE_KEY"])
	if err != nil {
		return nil, err
	}
	return azblob.NewClientWithSharedKeyCredential(strings.TrimSuffix(s.Endpoint, "/")+"/", cred, nil)
}

// GCSClient is a Cloud Storage client of the server (fake-gcs-server).
func (s Server) GCSClient(ctx context.Context) (*storage.Client, error) {
	return storage.NewClient(ctx, option.WithEndpoint(s.Endpoint), option.WithoutAuthentication())
}

// Vault is the Vault dev server of scripts/services/vault.sh.
type Vault struct {
	Addr, Token string
}

// VaultServer returns the Vault dev server, or skips (fails) the test.
func VaultServer(t testing.TB) Vault {
	t.Helper()
	v := Vault{Addr: os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), Token: os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN")}
	if v.Addr == "" || v.Token == "" {
		require(t, "Vault dev server", "source scripts/services/vault.sh && vault_install && vault_start")
	}
	return v
}

// TransitKey enables the transit engine (once) and creates a fresh key;
// it returns the kms option for it and an Env that supplies the Vault
// address and token (through opts.Env, not the process environment).
func (v Vault) TransitKey(t testing.TB) (kmsURL string, env secrets.Env) {
	t.Helper()
	client, err := v.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mounts, err := client.Sys().ListMountsWithContext(ctx)
	if err != nil {
		t.Fatalf("vault: listing mounts: %v", err)
	}
	if _, ok := mounts["transit/"]; !ok {
		err := client.Sys().MountWithContext(ctx, "transit", &vaultapi.MountInput{Type: "transit"})
		if err != nil && !strings.Contains(err.Error(), "path is already in use") {
			t.Fatalf("vault: enabling transit: %v", err)
		}
	}
	key := RandomName("dstack")
	if _, err := client.Logical().WriteWithContext(ctx, "transit/keys/"+key, map[string]any{}); err != nil {
		t.Fatalf("vault: creating transit key: %v", err)
	}
	return "hashivault://" + key, v.Env(t.TempDir())
}

// Env returns a secrets.Env with the Vault address and token, home.
func (v Vault) Env(home string) secrets.Env {
	return secrets.Env{HomeDir: home, Getenv: func(k string) string {
		switch k {
		case "VAULT_ADDR":
			return v.Addr
		case "VAULT_TOKEN":
			return v.Token
		}
		return ""
	}}
}

// Client returns a Vault API client with the root token.
func (v Vault) Client() (*vaultapi.Client, error) {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = v.Addr
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(v.Token)
	return c, nil
}
