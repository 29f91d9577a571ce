package reliability

import "path/filepath"

// homeConfig writes the default configuration file ~/.dstack/secrets.yml.
func homeConfig(content string) func(s *sandbox) {
	return func(s *sandbox) { writeFile(s.t, filepath.Join(s.home, ".dstack", "secrets.yml"), content, 0o600) }
}

// hardeningRows are the bad inputs of issue 13 (hardening).
func hardeningRows() []badInput {
	return []badInput{
		{category: "Configuration files", input: "empty configuration file (`~/.dstack/secrets.yml`)", setup: homeConfig(""), args: []string{"add", "A", "v"}, code: 1, want: "defines no projects"},
		{category: "Configuration files", input: "configuration file cut short to `default_project:`", setup: homeConfig("default_project:\n"), args: []string{"add", "A", "v"}, code: 1, want: "defines no projects"},
	}
}
