package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ConfigEnvVar names the environment variable that points at the project
// configuration file.
const ConfigEnvVar = "DSTACK_SECRETS_CONFIG"

// DefaultProjectName is the project that exists when there is no
// configuration file: it uses the "file" backend with default options.
const DefaultProjectName = "default"

// DefaultBackendName is the backend of the implicit default project.
const DefaultBackendName = "file"

// Config is the project configuration: a YAML file such as
//
//	default_project: main
//	projects:
//	  main:
//	    backend: file
//	  team:
//	    backend: vault
//	    options:
//	      address: https://vault.example.com:8200
//	      mount: secret
//
// Unknown keys anywhere are errors, so that a typo never silently falls back
// to a default.
type Config struct {
	// Path is the file the configuration was read from; empty for the
	// implicit configuration used when there is no file.
	Path string `yaml:"-"`
	// DefaultProject is used when no project is named. When it is empty
	// and there is exactly one project, that project is the default.
	DefaultProject string `yaml:"default_project"`
	// Projects maps project names to their backend settings.
	Projects map[string]ProjectConfig `yaml:"projects"`
}

// ProjectConfig is one project's entry in the configuration.
type ProjectConfig struct {
	// Backend names a backend of the Registry, e.g. "file", "keyring" or
	// "vault".
	Backend string `yaml:"backend"`
	// Options are the backend's own options, decoded by the backend.
	Options Options `yaml:"options"`
	// AllowUnsafeNames lists secret names that UnsafeName refuses but that
	// this project stores on purpose, e.g. [PATH]: its stores accept them
	// and run hands them to the command.
	AllowUnsafeNames []string `yaml:"allow_unsafe_names"`
	// MaxSecrets raises (or lowers) the cap on secrets per repository of
	// this project; 0 means MaxSecrets.
	MaxSecrets int `yaml:"max_secrets"`
}

// Options are a backend's options as written in the configuration file.
// Backends decode them into their own struct with Decode.
type Options map[string]any

// Decode decodes o into the struct pointed to by v, whose fields carry yaml
// tags. A key that matches no field is an error wrapping ErrInvalidConfig
// that lists the valid keys; so is a value of the wrong type.
func (o Options) Decode(backend string, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("secrets: Options.Decode needs a pointer to a struct, got %T", v)
	}
	valid := map[string]reflect.Type{}
	var keys []string
	t := rv.Elem().Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		valid[name] = f.Type
		keys = append(keys, name)
	}
	for _, k := range SortedNames(o) {
		if valid[k] == nil {
			return fmt.Errorf("%w: unknown option %q for backend %q (%s)", ErrInvalidConfig, k, backend, validKeys(keys))
		}
		if o[k] == nil {
			return fmt.Errorf("%w: option %q of backend %q has no value; give one, or remove the line to use the default", ErrInvalidConfig, k, backend)
		}
	}
	if len(o) == 0 {
		return nil
	}
	data, err := yaml.Marshal(map[string]any(o))
	if err != nil {
		return fmt.Errorf("%w: options of backend %q: %v", ErrInvalidConfig, backend, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		// Name the option: the decoder's line numbers are those of the
		// re-encoded options, not of the configuration file.
		for _, k := range SortedNames(o) {
			one, _ := yaml.Marshal(map[string]any{k: o[k]})
			if yaml.Unmarshal(one, reflect.New(t).Interface()) != nil {
				return fmt.Errorf("%w: option %q of backend %q must be %s", ErrInvalidConfig, k, backend, typeName(valid[k]))
			}
		}
		return fmt.Errorf("%w: options of backend %q: %s", ErrInvalidConfig, backend, yamlErrorText(err))
	}
	return nil
}

// typeName describes the YAML value an option of type t takes.
func typeName(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration such as 30s or 2m"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return "a " + t.String()
}

func yamlErrorText(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.ReplaceAll(s, "unmarshal errors:\n  ", "")
	return Printable(strings.ReplaceAll(s, "\n  ", "; "))
}

// DefaultConfig returns the configuration used when there is no
// configuration file: one project, "default", on the "file" backend.
func DefaultConfig() *Config {
	return &Config{
		DefaultProject: DefaultProjectName,
		Projects:       map[string]ProjectConfig{DefaultProjectName: {Backend: DefaultBackendName}},
	}
}

// ConfigPath returns the configuration file to read: override when it is not
// empty, else $DSTACK_SECRETS_CONFIG, else ~/.dstack/secrets.yml. explicit
// reports whether the path was named by override or the environment, in
// which case a missing file is an error rather than the implicit default.
func ConfigPath(env Env, override string) (path string, explicit bool, err error) {
	if override != "" {
		return override, true, nil
	}
	if p := env.Value(ConfigEnvVar); p != "" {
		return p, true, nil
	}
	home, err := env.Home()
	if err != nil {
		return "", false, err
	}
	return filepath.Join(home, ".dstack", "secrets.yml"), false, nil
}

// LoadConfigFor finds and loads the configuration as ConfigPath describes.
// A missing default file gives DefaultConfig; a missing explicitly named file
// is an error.
func LoadConfigFor(env Env, override string) (*Config, error) {
	path, explicit, err := ConfigPath(env, override)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return DefaultConfig(), nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		source := "--config"
		if override == "" {
			source = "$" + ConfigEnvVar
		}
		return nil, fmt.Errorf("%w: configuration file %s (named by %s) does not exist; create it or unset %s", ErrInvalidConfig, Printable(path), source, source)
	}
	return cfg, err
}

// LoadConfig reads and validates the configuration file at path. A missing
// file gives an error wrapping fs.ErrNotExist; anything malformed gives an
// error wrapping ErrInvalidConfig that names the file, the line and the fix.
// On Unix a file owned by another user than the current one or root, or
// writable by group (other than the user's private group) or others, or in
// a directory others can write without the sticky bit, is refused with an
// error wrapping ErrPermission, as OpenSSH's StrictModes does.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: cannot read configuration file: %v", ErrInvalidConfig, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read configuration file: %v", ErrInvalidConfig, err)
	}
	if err := checkConfigFile(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read configuration file %s: %v", ErrInvalidConfig, Printable(path), err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Printable(path), err)
	}
	cfg.Path = path
	return cfg, nil
}

// errNoProjects is the error of a configuration document without projects
// (built when needed: package initialisation is paid by every command).
func errNoProjects() error {
	return fmt.Errorf("%w: the configuration defines no projects (is the file empty or cut short?); define one under \"projects:\", e.g. \"projects: {main: {backend: file}}\", or delete the file to use the implicit project %q (the local file store)", ErrInvalidConfig, DefaultProjectName)
}

// ParseConfig parses and validates a configuration document. A document
// that defines no projects (empty, only comments, or cut short like
// "default_project:") is an error wrapping ErrInvalidConfig: an existing
// configuration file never silently falls back to DefaultConfig, which
// applies only when there is no file at all (LoadConfigFor).
func ParseConfig(data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: not valid YAML: %s", ErrInvalidConfig, yamlErrorText(err))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, errNoProjects()
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, errNoProjects()
	}
	if err := checkKeys(root, "the top level", "default_project", "projects"); err != nil {
		return nil, err
	}
	cfg := &Config{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch key.Value {
		case "default_project":
			if val.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%w: line %d: default_project must be a project name", ErrInvalidConfig, val.Line)
			}
			cfg.DefaultProject = val.Value
		case "projects":
			if val.Kind != yaml.MappingNode {
				if val.Tag == "!!null" {
					continue
				}
				return nil, fmt.Errorf("%w: line %d: projects must be a mapping of project names to settings", ErrInvalidConfig, val.Line)
			}
			cfg.Projects = make(map[string]ProjectConfig, len(val.Content)/2)
			// Project names are ASCII (ValidateProject), so lower-casing
			// them finds every pair that differs only in letter case, in
			// one pass.
			folded := make(map[string]string, len(val.Content)/2)
			for j := 0; j+1 < len(val.Content); j += 2 {
				pk, pv := val.Content[j], val.Content[j+1]
				if err := ValidateProject(pk.Value); err != nil {
					return nil, fmt.Errorf("line %d: %w", pk.Line, err)
				}
				if _, dup := cfg.Projects[pk.Value]; dup {
					return nil, fmt.Errorf("%w: line %d: project %q is defined twice", ErrInvalidConfig, pk.Line, pk.Value)
				}
				if other, ok := folded[strings.ToLower(pk.Value)]; ok {
					return nil, fmt.Errorf("%w: line %d: projects %q and %q differ only in letter case; on case-insensitive file systems they would share files, so rename one", ErrInvalidConfig, pk.Line, other, pk.Value)
				}
				folded[strings.ToLower(pk.Value)] = pk.Value
				pc, err := parseProject(pk.Value, pv)
				if err != nil {
					return nil, err
				}
				cfg.Projects[pk.Value] = pc
			}
		}
	}
	if len(cfg.Projects) == 0 {
		if cfg.DefaultProject != "" {
			return nil, fmt.Errorf("%w: default_project %q is not defined under projects, and no project is", ErrUnknownProject, cfg.DefaultProject)
		}
		return nil, errNoProjects()
	}
	if cfg.DefaultProject != "" {
		if _, ok := cfg.Projects[cfg.DefaultProject]; !ok {
			return nil, fmt.Errorf("%w: default_project %q is not defined under projects (defined: %s)", ErrUnknownProject, cfg.DefaultProject, strings.Join(SortedNames(cfg.Projects), ", "))
		}
	}
	return cfg, nil
}

func parseProject(name string, n *yaml.Node) (ProjectConfig, error) {
	var pc ProjectConfig
	if n.Kind != yaml.MappingNode {
		return pc, fmt.Errorf("%w: line %d: project %q must be a mapping with a backend, e.g. \"backend: file\"", ErrInvalidConfig, n.Line, name)
	}
	if err := checkKeys(n, fmt.Sprintf("project %q", name), "backend", "options", "allow_unsafe_names", "max_secrets"); err != nil {
		return pc, err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		switch key.Value {
		case "backend":
			if val.Kind != yaml.ScalarNode || val.Value == "" {
				return pc, fmt.Errorf("%w: line %d: backend of project %q must be a backend name such as file, keyring or vault", ErrInvalidConfig, val.Line, name)
			}
			pc.Backend = val.Value
		case "options":
			if val.Tag == "!!null" {
				continue
			}
			if val.Kind != yaml.MappingNode {
				return pc, fmt.Errorf("%w: line %d: options of project %q must be a mapping", ErrInvalidConfig, val.Line, name)
			}
			var opts map[string]any
			if err := val.Decode(&opts); err != nil {
				return pc, fmt.Errorf("%w: line %d: options of project %q: %s", ErrInvalidConfig, val.Line, name, yamlErrorText(err))
			}
			pc.Options = opts
		case "max_secrets":
			n, err := strconv.Atoi(val.Value)
			if val.Kind != yaml.ScalarNode || err != nil || n < 1 {
				return pc, fmt.Errorf("%w: line %d: max_secrets of project %q must be a whole number of at least 1 (the default is %d)", ErrInvalidConfig, val.Line, name, MaxSecrets)
			}
			pc.MaxSecrets = n
		case "allow_unsafe_names":
			if val.Tag == "!!null" {
				continue
			}
			if val.Kind != yaml.SequenceNode {
				return pc, fmt.Errorf("%w: line %d: allow_unsafe_names of project %q must be a list of names, e.g. [PATH]", ErrInvalidConfig, val.Line, name)
			}
			for _, item := range val.Content {
				if item.Kind != yaml.ScalarNode {
					return pc, fmt.Errorf("%w: line %d: allow_unsafe_names of project %q must be a list of names, e.g. [PATH]", ErrInvalidConfig, item.Line, name)
				}
				if err := ValidateAllowedUnsafeNames([]string{item.Value}); err != nil {
					return pc, fmt.Errorf("line %d: project %q: %w", item.Line, name, err)
				}
				pc.AllowUnsafeNames = append(pc.AllowUnsafeNames, item.Value)
			}
		}
	}
	if pc.Backend == "" {
		return pc, fmt.Errorf("%w: line %d: project %q has no backend; add e.g. \"backend: file\"", ErrInvalidConfig, n.Line, name)
	}
	return pc, nil
}

func checkKeys(n *yaml.Node, where string, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%w: line %d: %s must be a mapping", ErrInvalidConfig, n.Line, where)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, a := range allowed {
			ok = ok || k.Value == a
		}
		if !ok {
			return fmt.Errorf("%w: line %d: unknown key %q in %s (valid keys: %s)", ErrInvalidConfig, k.Line, k.Value, where, strings.Join(allowed, ", "))
		}
		if seen[k.Value] {
			return fmt.Errorf("%w: line %d: key %q appears twice in %s", ErrInvalidConfig, k.Line, k.Value, where)
		}
		seen[k.Value] = true
	}
	return nil
}

// Project resolves a project name: name itself when it is not empty, else
// the default project. It returns the resolved name and its settings; an
// unknown name gives an error wrapping ErrUnknownProject that lists the
// defined projects.
func (c *Config) Project(name string) (string, ProjectConfig, error) {
	if name == "" {
		name = c.DefaultProject
		if name == "" && len(c.Projects) == 1 {
			for n := range c.Projects {
				name = n
			}
		}
		if name == "" {
			return "", ProjectConfig{}, fmt.Errorf("%w: no project named and no default_project in %s; pass --project (defined: %s)", ErrUnknownProject, c.source(), strings.Join(SortedNames(c.Projects), ", "))
		}
	}
	pc, ok := c.Projects[name]
	if !ok {
		return "", ProjectConfig{}, fmt.Errorf("%w %q: not defined in %s (defined: %s)", ErrUnknownProject, name, c.source(), strings.Join(SortedNames(c.Projects), ", "))
	}
	return name, pc, nil
}

func (c *Config) source() string {
	if c.Path == "" {
		return "the implicit configuration (no configuration file; create ~/.dstack/secrets.yml to define projects)"
	}
	return Printable(c.Path)
}

// ExpandHome replaces a leading "~/" (or a lone "~") in path with the home
// directory from env.
func ExpandHome(env Env, path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := env.Home()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, strings.TrimPrefix(path, "~")), nil
}
