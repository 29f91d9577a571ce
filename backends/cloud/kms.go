package cloud

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"

	"github.com/dstackai/dstack-secrets/secrets"
)

// openKeeper opens the KMS key of the kms option. hashivault:// keys get a
// Vault client of their own, configured like the Vault CLI (VAULT_ADDR,
// VAULT_TOKEN or ~/.vault-token, VAULT_CACERT, ...), read through
// opts.Env for the address and token; the other schemes use
// gocloud.dev's openers and their cloud's credential chain.
func openKeeper(ctx context.Context, opts *Options) (*gcsecrets.Keeper, error) {
	u, err := url.Parse(opts.KMS)
	if err != nil {
		return nil, fmt.Errorf("%w: cloud backend: kms %q does not parse", secrets.ErrInvalidConfig, redactURL(opts.KMS))
	}
	if u.Scheme != "hashivault" {
		k, err := gcsecrets.OpenKeeper(ctx, opts.KMS)
		if err != nil {
			return nil, fmt.Errorf("%w: cloud backend: kms %s: %v (supported: awskms://, gcpkms://, azurekeyvault://, hashivault://)", secrets.ErrInvalidConfig, redactURL(opts.KMS), err)
		}
		return k, nil
	}
	keyID := u.Host + u.Path
	if keyID == "" || strings.Contains(strings.Trim(keyID, "/"), "/") {
		return nil, fmt.Errorf("%w: cloud backend: kms %s: write hashivault://KEY_NAME (a key of Vault's transit engine)", secrets.ErrInvalidConfig, redactURL(opts.KMS))
	}
	engine := "transit"
	for k, v := range u.Query() {
		if k != "engine" || len(v) != 1 {
			return nil, fmt.Errorf("%w: cloud backend: kms %s: the only query parameter is engine=MOUNT", secrets.ErrInvalidConfig, redactURL(opts.KMS))
		}
		engine = strings.Trim(v[0], "/")
	}
	cfg := vaultapi.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("%w: cloud backend: the Vault client settings (VAULT_* variables): %v", secrets.ErrInvalidConfig, cfg.Error)
	}
	if addr := opts.Env.Value("VAULT_ADDR"); addr != "" {
		cfg.Address = addr
	}
	client, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: cloud backend: Vault client: %v", secrets.ErrInvalidConfig, err)
	}
	token := opts.Env.Value("VAULT_TOKEN")
	if token == "" {
		if home, herr := opts.Env.Home(); herr == nil {
			data, rerr := os.ReadFile(filepath.Join(home, ".vault-token"))
			if rerr == nil {
				token = strings.TrimSpace(string(data))
			} else if !errors.Is(rerr, fs.ErrNotExist) {
				return nil, fmt.Errorf("cloud backend: reading ~/.vault-token: %w", rerr)
			}
		}
	}
	if token == "" {
		return nil, fmt.Errorf("%w: cloud backend: kms %s needs a Vault token: set VAULT_TOKEN or log in with `vault login`", secrets.ErrAuth, redactURL(opts.KMS))
	}
	client.SetToken(token)
	return gcsecrets.NewKeeper(&transitKeeper{client: client, engine: engine, key: strings.Trim(keyID, "/")}), nil
}

// transitKeeper is a gocloud.dev/secrets driver for Vault's transit
// engine. It replaces gocloud.dev/secrets/hashivault, whose requests ignore
// the context (so no deadline bounds them), whose errors all have code
// Unknown, and which panics on an answer without the expected field.
type transitKeeper struct {
	client      *vaultapi.Client
	engine, key string
}

var _ driver.Keeper = (*transitKeeper)(nil)

// Encrypt implements driver.Keeper.
func (k *transitKeeper) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	out, err := k.client.Logical().WriteWithContext(ctx, k.engine+"/encrypt/"+k.key, map[string]any{
		"plaintext": base64.StdEncoding.EncodeToString(plaintext),
	})
	if err != nil {
		return nil, err
	}
	ct, ok := dataString(out, "ciphertext")
	if !ok {
		return nil, fmt.Errorf("the Vault server answered %s/encrypt/%s without a ciphertext", k.engine, k.key)
	}
	return []byte(ct), nil
}

// Decrypt implements driver.Keeper.
func (k *transitKeeper) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	out, err := k.client.Logical().WriteWithContext(ctx, k.engine+"/decrypt/"+k.key, map[string]any{
		"ciphertext": string(ciphertext),
	})
	if err != nil {
		return nil, err
	}
	pt, ok := dataString(out, "plaintext")
	if !ok {
		return nil, fmt.Errorf("the Vault server answered %s/decrypt/%s without a plaintext", k.engine, k.key)
	}
	return base64.StdEncoding.DecodeString(pt)
}

func dataString(s *vaultapi.Secret, field string) (string, bool) {
	if s == nil || s.Data == nil {
		return "", false
	}
	v, ok := s.Data[field].(string)
	return v, ok
}

// Close implements driver.Keeper.
func (k *transitKeeper) Close() error { return nil }

// ErrorAs implements driver.Keeper.
func (k *transitKeeper) ErrorAs(err error, i any) bool { return errors.As(err, i) }

// ErrorCode implements driver.Keeper.
func (k *transitKeeper) ErrorCode(err error) gcerrors.ErrorCode {
	var re *vaultapi.ResponseError
	if !errors.As(err, &re) {
		return gcerrors.Unknown
	}
	switch re.StatusCode {
	case 400:
		return gcerrors.InvalidArgument
	case 401, 403:
		return gcerrors.PermissionDenied
	case 404:
		return gcerrors.NotFound
	}
	return gcerrors.Unknown
}
