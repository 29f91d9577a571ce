package secrets_test

import (
	"errors"
	"fmt"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Render fills a configuration template with secrets; $HOME and other
// environment references are left alone, and $${{ writes a literal ${{.
func ExampleRender() {
	values := map[string]string{"DB_PASSWORD": "s3cr3t", "API_TOKEN": "tok-123"}
	lookup := func(name string) (string, bool) {
		v, ok := values[name]
		return v, ok
	}
	out, err := secrets.Render(`url: postgres://app:${{ secrets.DB_PASSWORD }}@db/app
token: ${{secrets.API_TOKEN}}
home: $HOME
literal: $${{ secrets.API_TOKEN }}
`, lookup)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(out)
	// Output:
	// url: postgres://app:s3cr3t@db/app
	// token: tok-123
	// home: $HOME
	// literal: ${{ secrets.API_TOKEN }}
}

// Every unknown name is reported at once, and nothing is rendered.
func ExampleRender_unknown() {
	lookup := func(string) (string, bool) { return "", false }
	_, err := secrets.Render("${{ secrets.B }} ${{ secrets.A }} ${{ secrets.B }}", lookup)
	fmt.Println(errors.Is(err, secrets.ErrNotFound))
	fmt.Println(err)
	_, err = secrets.Render("key: ${{ secrets.1X }}", lookup)
	fmt.Println(err)
	// Output:
	// true
	// secret not found: the template references 2 unknown secrets: A, B; add them (dstack-secrets add NAME) or fix the references
	// line 1, column 6: "${{ secrets.1X }}": invalid secret name: the name starts with a digit; a name must start with a letter or an underscore
}
