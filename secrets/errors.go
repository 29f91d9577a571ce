package secrets

import "errors"

// Sentinel errors. Backends and helpers wrap them with %w together with a
// message that names what failed and how to fix it; check them with
// errors.Is. None of the messages built around them contains a secret value.
var (
	// ErrNotFound: the named secret does not exist in the scope.
	ErrNotFound = errors.New("secret not found")
	// ErrExists: Create was asked for a name that already exists.
	ErrExists = errors.New("secret already exists")
	// ErrInvalidName: a secret name breaks the rules of ValidateName.
	ErrInvalidName = errors.New("invalid secret name")
	// ErrInvalidValue: a secret value breaks the rules of ValidateValue.
	ErrInvalidValue = errors.New("invalid secret value")
	// ErrInvalidScope: a project name or repository identity is malformed.
	ErrInvalidScope = errors.New("invalid scope")
	// ErrNotInRepository: the working directory is not inside a git
	// repository and no repository was given explicitly.
	ErrNotInRepository = errors.New("not in a git repository")
	// ErrUnknownProject: the configuration has no project of that name.
	ErrUnknownProject = errors.New("unknown project")
	// ErrUnknownBackend: no backend of that name is registered.
	ErrUnknownBackend = errors.New("unknown backend")
	// ErrInvalidConfig: the configuration file or a backend's options are
	// malformed (bad YAML, unknown key, wrong type, missing field).
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrPermission: the backend refused the operation (file permissions,
	// Vault policy, locked keychain).
	ErrPermission = errors.New("permission denied")
	// ErrUnavailable: the backend cannot be reached or is not usable right
	// now (server down, daemon absent, Vault sealed).
	ErrUnavailable = errors.New("backend unavailable")
	// ErrConflict: a concurrent writer changed the secret first.
	ErrConflict = errors.New("conflicting concurrent write")
	// ErrCorrupt: stored data cannot be decoded (truncated, foreign or
	// damaged file). Stores never overwrite corrupt data.
	ErrCorrupt = errors.New("stored data is corrupt")
	// ErrAuth: the credentials are missing, wrong or expired (a wrong
	// passphrase, a missing key, an expired token).
	ErrAuth = errors.New("authentication failed")
	// ErrClosed: the store was closed; open a new one.
	ErrClosed = errors.New("store is closed")
	// ErrUnsafeName: a secret's name would let it take over the programs
	// that get it (LD_PRELOAD, BASH_ENV, PATH, ...: see UnsafeName) and the
	// project does not allow it.
	ErrUnsafeName = errors.New("unsafe secret name")
	// ErrLimit: a documented limit would be exceeded: MaxSecrets or
	// MaxStoreSize per repository, or the system's limit on the size of a
	// program's environment and arguments (CheckEnvironSize).
	ErrLimit = errors.New("limit exceeded")
)
