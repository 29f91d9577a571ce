package dotenv

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/joho/godotenv"
)

// The interop tests run the real python-dotenv, Node's dotenv and godotenv
// (see peers_test.go) on the same documents as Parse, and check that Parse
// either reads exactly what all three read, or refuses the document.

var showDocs = flag.Bool("dotenv.show", false, "print the generated documents and values of failing interop checks (they are test data, not secrets)")

// want is what a peer is expected to read from a fixture.
type want struct {
	fail bool // the peer reports an error or a variable without a value
	vals map[string]string
}

// vals is a want of these names and values (name, value, name, value...).
func vals(kv ...string) want {
	w := want{vals: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		w.vals[kv[i]] = kv[i+1]
	}
	return w
}

// fails is the want of a peer that reports a problem with the document.
var fails = want{fail: true}

func agree(w want) [numPeers]want { return [numPeers]want{w, w, w} }

func differ(py, nodeWant, gd want) [numPeers]want { return [numPeers]want{py, nodeWant, gd} }

func (w want) matches(r reading) bool {
	if w.fail {
		return !r.ok
	}
	return r.equal(w.vals)
}

// interopCase is a fixture: a document, what each peer reads from it, and
// whether Parse accepts it (ours == "") or refuses it with the message ours.
type interopCase struct {
	name    string
	in      string
	peers   [numPeers]want // python-dotenv, Node's dotenv, godotenv
	ours    string
	literal bool // ParseWith with Literal accepts it and reads what Node's dotenv reads
}

// interopCases are the fixtures: first the kinds of input on which the
// peers disagree and that an earlier version of Parse read as something no
// peer reads, then the cases of the peers' own test suites
// (python-dotenv's tests/test_parser.py and tests/test_main.py, Node's
// dotenv's tests/.env and tests/test-parse.js, godotenv's fixtures/*.env
// and godotenv_test.go), retyped.
func interopCases() []interopCase {
	return []interopCase{
		{name: "brace reference unquoted", in: "A=x\nB=${A}\n",
			peers: differ(vals("A", "x", "B", "x"),
				vals("A", "x", "B", "${A}"),
				vals("A", "x", "B", "x")), ours: msgBraceRef, literal: true},
		{name: "brace reference in double quotes", in: "A=x\nB=\"${A}\"\n",
			peers: differ(vals("A", "x", "B", "x"),
				vals("A", "x", "B", "${A}"),
				vals("A", "x", "B", "x")), ours: msgBraceRef, literal: true},
		{name: "brace reference in single quotes", in: "A=x\nB='${A}'\n",
			peers: differ(vals("A", "x", "B", "x"),
				vals("A", "x", "B", "${A}"),
				vals("A", "x", "B", "${A}")), ours: msgBraceRef, literal: true},
		{name: "brace reference to the environment", in: "B=${DOTENV_PEER_ENV}\n",
			peers: differ(vals("B", "from-env"),
				vals("B", "${DOTENV_PEER_ENV}"),
				vals("B", "")), ours: msgBraceRef, literal: true},
		{name: "brace reference with default", in: "B='${UNSET:-d}'\n",
			peers: differ(vals("B", "d"),
				vals("B", "${UNSET:-d}"),
				vals("B", "${UNSET:-d}")), ours: msgBraceRef, literal: true},
		{name: "lower-case brace reference", in: "b=x\nB=${b}\n",
			peers: differ(vals("b", "x", "B", "x"),
				vals("b", "x", "B", "${b}"),
				vals("B", "${b}", "b", "x")), ours: msgBraceRef, literal: true},
		{name: "dollar name unquoted", in: "A=x\nB=$A\n",
			peers: differ(vals("A", "x", "B", "$A"),
				vals("A", "x", "B", "$A"),
				vals("A", "x", "B", "x")), ours: msgDollarRef, literal: true},
		{name: "dollar name in double quotes", in: "A=x\nB=\"$A\"\n",
			peers: differ(vals("A", "x", "B", "$A"),
				vals("A", "x", "B", "$A"),
				vals("A", "x", "B", "x")), ours: msgDollarRef, literal: true},
		{name: "dollar name in single quotes", in: "A=x\nB='$A'\n",
			peers: agree(vals("A", "x", "B", "$A"))},
		{name: "dollar digit", in: "B=price $5\n",
			peers: differ(vals("B", "price $5"),
				vals("B", "price $5"),
				vals("B", "price ")), ours: msgDollarRef, literal: true},
		{name: "dollar paren name", in: "A=x\nB=$(A)\n",
			peers: differ(vals("A", "x", "B", "$(A)"),
				vals("A", "x", "B", "$(A)"),
				vals("A", "x", "B", "x)")), ours: msgDollarRef, literal: true},
		{name: "dollar lower case", in: "B=$home $(cmd) $\n",
			peers: agree(vals("B", "$home $(cmd) $"))},
		{name: "escaped dollar in double quotes", in: "B=\"x\\$y\"\n",
			peers: differ(vals("B", "x\\$y"),
				vals("B", "x\\$y"),
				vals("B", "x$y")), ours: msgDQDollarEsc},
		{name: "escaped dollar unquoted", in: "B=x\\$y\n",
			peers: differ(vals("B", "x\\$y"),
				vals("B", "x\\$y"),
				vals("B", "x$y")), ours: msgEscapedDollar},
		{name: "escaped backtick in double quotes", in: "B=\"x\\`y\"\n",
			peers: differ(vals("B", "x\\`y"),
				vals("B", "x\\`y"),
				vals("B", "x`y")), ours: msgDQDollarEsc},
		{name: "escaped backslash in double quotes", in: "B=\"a\\\\b\"\n",
			peers: differ(vals("B", "a\\b"),
				vals("B", "a\\\\b"),
				vals("B", "a\\b")), ours: msgDQBackslash},
		{name: "escaped quote in double quotes", in: "B=\"a\\\"b\"\n",
			peers: differ(vals("B", "a\"b"),
				vals("B", "a\\\"b"),
				vals("B", "a\"b")), ours: msgDQBackslash},
		{name: "escaped single quote in double quotes", in: "B=\"a\\'b\"\n",
			peers: differ(vals("B", "a'b"),
				vals("B", "a\\'b"),
				vals("B", "a'b")), ours: msgDQBackslash},
		{name: "tab escape in double quotes", in: "B=\"a\\tb\"\n",
			peers: differ(vals("B", "a\tb"),
				vals("B", "a\\tb"),
				vals("B", "atb")), ours: msgBadEscape},
		{name: "newline escapes in double quotes", in: "B=\"a\\nb\\rc\"\n",
			peers: agree(vals("B", "a\nb\rc"))},
		{name: "lone CR in double quotes", in: "B=\"x\ry\"\n",
			peers: differ(vals("B", "x\ny"),
				vals("B", "x\ny"),
				vals("B", "x\ry")), ours: msgQuotedCR},
		{name: "lone CR in single quotes", in: "B='x\ry'\n",
			peers: differ(vals("B", "x\ny"),
				vals("B", "x\ny"),
				vals("B", "x\ry")), ours: msgQuotedCR},
		{name: "CRLF in quotes", in: "B='x\r\ny'\r\nC=\"x\r\ny\"\r\n",
			peers: agree(vals("B", "x\ny", "C", "x\ny"))},
		{name: "NBSP around unquoted value", in: "B=\u00a0x\u00a0\n",
			peers: agree(vals("B", "x")), ours: msgUnicodeSpace},
		{name: "em space around unquoted value", in: "B=\u2003x\u2003\n",
			peers: differ(vals("B", "x"),
				vals("B", "x"),
				vals("B", "\u2003x\u2003")), ours: msgUnicodeSpace},
		{name: "NBSP before a quoted value", in: "B=\u00a0'x'\n",
			peers: agree(vals("B", "x")), ours: msgUnicodeSpace},
		{name: "BOM character at the end of a value", in: "B=x\ufeff\n",
			peers: differ(vals("B", "x\ufeff"),
				vals("B", "x"),
				vals("B", "x\ufeff")), ours: msgUnicodeSpace},
		{name: "unicode spaces inside quotes", in: "B='\u00a0x\u2003'\n",
			peers: agree(vals("B", "\u00a0x\u2003"))},
		{name: "unicode spaces inside an unquoted value", in: "B=a\u00a0b\u3000c\n",
			peers: agree(vals("B", "a\u00a0b\u3000c"))},
		{name: "comment after an empty value", in: "A= #c\nB=1\n",
			peers: differ(vals("A", "#c", "B", "1"),
				vals("A", "", "B", "1"),
				vals("A", "#c", "B", "1")), ours: msgEmptyComment},
		{name: "hash right after equals", in: "A=#c\n",
			peers: differ(vals("A", "#c"),
				vals("A", ""),
				vals("A", "#c")), ours: msgEmptyComment},
		{name: "hash without a space", in: "A=a#b\n",
			peers: differ(vals("A", "a#b"),
				vals("A", "a"),
				vals("A", "a#b")), ours: msgHash},
		{name: "second hash in a comment", in: "A=a #b #c\n",
			peers: differ(vals("A", "a"),
				vals("A", "a"),
				vals("A", "a #b")), ours: msgCommentHash},
		{name: "hash in a comment without a space", in: "A=a # issue#12\n",
			peers: agree(vals("A", "a"))},
		{name: "backtick quotes", in: "A=`x y`\n",
			peers: differ(vals("A", "`x y`"),
				vals("A", "x y"),
				vals("A", "`x y`")), ours: msgBacktick},
		{name: "two backslashes in single quotes", in: "A='a\\\\b'\n",
			peers: differ(vals("A", "a\\b"),
				vals("A", "a\\\\b"),
				vals("A", "a\\\\b")), ours: msgSQBackslashes},
		{name: "single-quoted value ending with a backslash", in: "A='x\\'\nB='y'\n",
			peers: differ(fails,
				vals("A", "x\\", "B", "y"),
				fails), ours: msgSQBackslash},
		{name: "byte order mark", in: "\ufeffA=1\n",
			peers: differ(vals("\ufeffA", "1"),
				vals("A", "1"),
				fails), ours: msgBOM},
		{name: "export with a blank before equals", in: "export =1\n",
			peers: differ(fails,
				vals("export", "1"),
				vals("", "1")), ours: msgExportName},
		{name: "line separator in a comment", in: "A=1 # c\u2028B=2\n",
			peers: differ(vals("A", "1"),
				vals("A", "1", "B", "2"),
				vals("A", "1")), ours: msgLineSep},
		{name: "CR line endings", in: "A=1\rB=two words\r\rC='x'\r",
			peers: agree(vals("A", "1", "B", "two words", "C", "x"))},
		{name: "CR line endings with a comment", in: "# c\rA=1\rB=2\r",
			peers: differ(vals("A", "1", "B", "2"),
				vals("A", "1", "B", "2"),
				vals()), ours: msgCommentCR},
		{name: "CR after an empty value", in: "A=\rB=2\r",
			peers: differ(vals("A", "", "B", "2"),
				vals("A", "", "B", "2"),
				vals("A", "B=2")), ours: msgEmptyCR},
		{name: "CR after a comment after a quoted value", in: "A='x' # c\rB=2\r",
			peers: differ(vals("A", "x", "B", "2"),
				vals("A", "x", "B", "2"),
				vals("A", "x")), ours: msgCommentCR},
		{name: "CR after a comment after an unquoted value", in: "A=x # c\rB=2\r",
			peers: agree(vals("A", "x", "B", "2"))},
		{name: "empty value then a quoted line", in: "A=\n'B'=1\n",
			peers: differ(vals("A", "", "B", "1"),
				vals("A", ""),
				fails), ours: msgBadName},
		{name: "text after a closing quote", in: "A='x' B=2\n",
			peers: differ(fails,
				vals("A", "'x' B=2"),
				vals("A", "x", "B", "2")), ours: msgAfterQuote},
		{name: "duplicate name", in: "A=1\nA=2\n",
			peers: agree(vals("A", "2")), ours: msgDuplicate},
		{name: "name without value", in: "A\nB=1\n",
			peers: differ(fails,
				vals("B", "1"),
				fails), ours: msgNoEquals},
		{name: "control character unquoted", in: "A=a\x1bb\n",
			peers: agree(vals("A", "a\x1bb")), ours: msgControlChar},
		{name: "control characters quoted", in: "A='a\x1b\x01\x0bb'\n",
			peers: agree(vals("A", "a\x1b\x01\x0bb"))},
		{name: "leading and trailing blanks", in: "  A \t=\t value with  spaces \t\n",
			peers: agree(vals("A", "value with  spaces"))},
		{name: "quoted value followed by a comment without a space", in: "A=\"x\"#c\nB='y'#c\n",
			peers: agree(vals("A", "x", "B", "y"))},
		{name: "multi-line values", in: "A='one\ntwo\n'\nB=\"three\nfour\"\nC=5\n",
			peers: agree(vals("A", "one\ntwo\n", "B", "three\nfour", "C", "5"))},
		{name: "empty values", in: "A=\nB=''\nC=\"\"\nD=  \n",
			peers: agree(vals("A", "", "B", "", "C", "", "D", ""))},
		{name: "unicode", in: "A=pässwörd-秘密-🔑\nB='秘密'\n",
			peers: agree(vals("A", "pässwörd-秘密-🔑", "B", "秘密"))},
		{name: "backslashes unquoted", in: "A=C:\\dir\\ and \\n\n",
			peers: agree(vals("A", "C:\\dir\\ and \\n"))},
		{name: "quotes inside an unquoted value", in: "A=it's \"fine\"\n",
			peers: agree(vals("A", "it's \"fine\""))},
		{name: "value ending in a backslash unquoted", in: "A=C:\\dir\\\nB='x'\n",
			peers: agree(vals("A", "C:\\dir\\", "B", "x"))},
		{name: "value ending in a backslash double-quoted", in: "A=\"x\\\\\"\nB=\"y\"\n",
			peers: differ(fails,
				vals("A", "x\\\\", "B", "y"),
				fails), ours: msgDQBackslash},
		{name: "python-dotenv: a=b", in: "a=b",
			peers: agree(vals("a", "b"))},
		{name: "python-dotenv: 'a'=b", in: "'a'=b",
			peers: differ(vals("a", "b"),
				vals(),
				fails), ours: msgBadName},
		{name: "python-dotenv: [=b", in: "[=b",
			peers: differ(vals("[", "b"),
				vals(),
				fails), ours: msgBadName},
		{name: "python-dotenv:  a = b ", in: " a = b ",
			peers: agree(vals("a", "b"))},
		{name: "python-dotenv: export a=b", in: "export a=b",
			peers: agree(vals("a", "b"))},
		{name: "python-dotenv:  export 'a'=b", in: " export 'a'=b",
			peers: differ(vals("a", "b"),
				vals(),
				fails), ours: msgBadName},
		{name: "python-dotenv: # a=b", in: "# a=b",
			peers: agree(vals())},
		{name: "python-dotenv: a=b#c", in: "a=b#c",
			peers: differ(vals("a", "b#c"),
				vals("a", "b"),
				vals("a", "b#c")), ours: msgHash},
		{name: "python-dotenv: a=b #c", in: "a=b #c",
			peers: agree(vals("a", "b"))},
		{name: "python-dotenv: a= #c", in: "a= #c",
			peers: differ(vals("a", "#c"),
				vals("a", ""),
				vals("a", "#c")), ours: msgEmptyComment},
		{name: "python-dotenv: a=  # comment", in: "a=  # comment",
			peers: differ(vals("a", "# comment"),
				vals("a", ""),
				vals("a", "# comment")), ours: msgEmptyComment},
		{name: "python-dotenv: a=#b", in: "a=#b",
			peers: differ(vals("a", "#b"),
				vals("a", ""),
				vals("a", "#b")), ours: msgEmptyComment},
		{name: "python-dotenv: a=b\\t#c", in: "a=b\t#c",
			peers: agree(vals("a", "b"))},
		{name: "python-dotenv: a=b c", in: "a=b c",
			peers: agree(vals("a", "b c"))},
		{name: "python-dotenv: a=b\\tc", in: "a=b\tc",
			peers: agree(vals("a", "b\tc"))},
		{name: "python-dotenv: a=b  c", in: "a=b  c",
			peers: agree(vals("a", "b  c"))},
		{name: "python-dotenv: a=b\\xa0 c", in: "a=b\u00a0 c",
			peers: agree(vals("a", "b\u00a0 c"))},
		{name: "python-dotenv: a=b c ", in: "a=b c ",
			peers: agree(vals("a", "b c"))},
		{name: "python-dotenv: a='b c '", in: "a='b c '",
			peers: agree(vals("a", "b c "))},
		{name: "python-dotenv: a=\"b c \"", in: "a=\"b c \"",
			peers: agree(vals("a", "b c "))},
		{name: "python-dotenv: export export_a=1", in: "export export_a=1",
			peers: agree(vals("export_a", "1"))},
		{name: "python-dotenv: export port=8000", in: "export port=8000",
			peers: agree(vals("port", "8000"))},
		{name: "python-dotenv: a=\"b\\nc\"", in: "a=\"b\nc\"",
			peers: agree(vals("a", "b\nc"))},
		{name: "python-dotenv: a='b\\nc'", in: "a='b\nc'",
			peers: agree(vals("a", "b\nc"))},
		{name: "python-dotenv: a=\"b\\\\nc\"", in: "a=\"b\\nc\"",
			peers: agree(vals("a", "b\nc"))},
		{name: "python-dotenv: a='b\\\\nc'", in: "a='b\\nc'",
			peers: agree(vals("a", "b\\nc"))},
		{name: "python-dotenv: a=\"b\\\\\"c\"", in: "a=\"b\\\"c\"",
			peers: differ(vals("a", "b\"c"),
				vals("a", "b\\\"c"),
				vals("a", "b\"c")), ours: msgDQBackslash},
		{name: "python-dotenv: a='b\\\\'c'", in: "a='b\\'c'",
			peers: differ(vals("a", "b'c"),
				vals("a", "b\\'c"),
				vals("a", "b\\'c")), ours: msgSQBackslash},
		{name: "python-dotenv: a=à", in: "a=à",
			peers: agree(vals("a", "à"))},
		{name: "python-dotenv: a=\"à\"", in: "a=\"à\"",
			peers: agree(vals("a", "à"))},
		{name: "python-dotenv: no_value_var", in: "no_value_var",
			peers: differ(fails,
				vals(),
				vals("", "no_value_var")), ours: msgNoEquals},
		{name: "python-dotenv: a: b", in: "a: b",
			peers: differ(fails,
				vals("a", "b"),
				vals("a", "b")), ours: msgBadName},
		{name: "python-dotenv: a=b\\nc=d", in: "a=b\nc=d",
			peers: agree(vals("a", "b", "c", "d"))},
		{name: "python-dotenv: a=b\\rc=d", in: "a=b\rc=d",
			peers: agree(vals("a", "b", "c", "d"))},
		{name: "python-dotenv: a=b\\r\\nc=d", in: "a=b\r\nc=d",
			peers: agree(vals("a", "b", "c", "d"))},
		{name: "python-dotenv: a=\\nb=c", in: "a=\nb=c",
			peers: agree(vals("a", "", "b", "c"))},
		{name: "python-dotenv: \\n\\n", in: "\n\n",
			peers: agree(vals())},
		{name: "python-dotenv: a=b\\n\\n", in: "a=b\n\n",
			peers: agree(vals("a", "b"))},
		{name: "python-dotenv: a=b\\n\\nc=d", in: "a=b\n\nc=d",
			peers: agree(vals("a", "b", "c", "d"))},
		{name: "python-dotenv: a=\"\\nb=c", in: "a=\"\nb=c",
			peers: differ(fails,
				vals("a", "\"", "b", "c"),
				fails), ours: msgUnclosedDQ},
		{name: "python-dotenv: # comment\\na=\"b\\nc\"\\nd=e\\n", in: "# comment\na=\"b\nc\"\nd=e\n",
			peers: agree(vals("a", "b\nc", "d", "e"))},
		{name: "python-dotenv: a=b\\n# comment 1", in: "a=b\n# comment 1",
			peers: agree(vals("a", "b"))},
		{name: "python-dotenv: # comment 1\\n# comment 2", in: "# comment 1\n# comment 2",
			peers: agree(vals())},
		{name: "python-dotenv: uglyKey[%$=\"S3cr3t_P4ssw#rD\" #\\na=b", in: "uglyKey[%$=\"S3cr3t_P4ssw#rD\" #\na=b",
			peers: differ(vals("uglyKey[%$", "S3cr3t_P4ssw#rD", "a", "b"),
				vals("a", "b"),
				fails), ours: msgBadName},
		{name: "python-dotenv: \\ufeffa=b", in: "\ufeffa=b",
			peers: differ(vals("\ufeffa", "b"),
				vals("a", "b"),
				fails), ours: msgBOM},
		{name: "python-dotenv: b=c\\na=${b}", in: "b=c\na=${b}",
			peers: differ(vals("b", "c", "a", "c"),
				vals("b", "c", "a", "${b}"),
				vals("a", "${b}", "b", "c")), ours: msgBraceRef, literal: true},
		{name: "python-dotenv: a=x${b}y", in: "a=x${b}y",
			peers: differ(vals("a", "xy"),
				vals("a", "x${b}y"),
				vals("a", "x${b}y")), ours: msgBraceRef, literal: true},
		{name: "python-dotenv: a='${b}'", in: "a='${b}'",
			peers: differ(vals("a", ""),
				vals("a", "${b}"),
				vals("a", "${b}")), ours: msgBraceRef, literal: true},
		{name: "python-dotenv: a=${b:-d}", in: "a=${b:-d}",
			peers: differ(vals("a", "d"),
				vals("a", "${b:-d}"),
				vals("a", "${b:-d}")), ours: msgBraceRef, literal: true},
		{name: "python-dotenv: a=${a}", in: "a=${a}",
			peers: differ(vals("a", ""),
				vals("a", "${a}"),
				vals("a", "${a}")), ours: msgBraceRef, literal: true},
		{name: "python-dotenv: a\\nb=${a}", in: "a\nb=${a}",
			peers: differ(fails,
				vals("b", "${a}"),
				fails), ours: msgNoEquals},
		{name: "dotenv: tests/.env without the lines below", in: "BASIC=basic\n\n# previous line intentionally left blank\nAFTER_LINE=after_line\nEMPTY=\nSINGLE_QUOTES='single_quotes'\nSINGLE_QUOTES_SPACED='    single quotes    '\nDOUBLE_QUOTES=\"double_quotes\"\nDOUBLE_QUOTES_SPACED=\"    double quotes    \"\nDOUBLE_QUOTES_INSIDE_SINGLE='double \"quotes\" work inside single quotes'\nSINGLE_QUOTES_INSIDE_DOUBLE=\"single 'quotes' work inside double quotes\"\nEXPAND_NEWLINES=\"expand\\nnew\\nlines\"\nDONT_EXPAND_UNQUOTED=dontexpand\\nnewlines\nDONT_EXPAND_SQUOTED='dontexpand\\nnewlines'\n# COMMENTS=work\nINLINE_COMMENTS_SINGLE_QUOTES='inline comments outside of #singlequotes' # work\nINLINE_COMMENTS_DOUBLE_QUOTES=\"inline comments outside of #doublequotes\" # work\nEQUAL_SIGNS=equals==\nRETAIN_INNER_QUOTES={\"foo\": \"bar\"}\nRETAIN_INNER_QUOTES_AS_STRING='{\"foo\": \"bar\"}'\nTRIM_SPACE_FROM_UNQUOTED=    some spaced out string\nUSERNAME=therealnerdybeast@example.tld\n    SPACED_KEY = parsed\nMULTI_DOUBLE_QUOTED=\"THIS\nIS\nA\nMULTILINE\nSTRING\"\nMULTI_SINGLE_QUOTED='THIS\nIS\nA\nMULTILINE\nSTRING'\n",
			peers: agree(vals("BASIC", "basic", "AFTER_LINE", "after_line", "EMPTY", "", "SINGLE_QUOTES", "single_quotes", "SINGLE_QUOTES_SPACED", "    single quotes    ", "DOUBLE_QUOTES", "double_quotes", "DOUBLE_QUOTES_SPACED", "    double quotes    ", "DOUBLE_QUOTES_INSIDE_SINGLE", "double \"quotes\" work inside single quotes", "SINGLE_QUOTES_INSIDE_DOUBLE", "single 'quotes' work inside double quotes", "EXPAND_NEWLINES", "expand\nnew\nlines", "DONT_EXPAND_UNQUOTED", "dontexpand\\nnewlines", "DONT_EXPAND_SQUOTED", "dontexpand\\nnewlines", "INLINE_COMMENTS_SINGLE_QUOTES", "inline comments outside of #singlequotes", "INLINE_COMMENTS_DOUBLE_QUOTES", "inline comments outside of #doublequotes", "EQUAL_SIGNS", "equals==", "RETAIN_INNER_QUOTES", "{\"foo\": \"bar\"}", "RETAIN_INNER_QUOTES_AS_STRING", "{\"foo\": \"bar\"}", "TRIM_SPACE_FROM_UNQUOTED", "some spaced out string", "USERNAME", "therealnerdybeast@example.tld", "SPACED_KEY", "parsed", "MULTI_DOUBLE_QUOTED", "THIS\nIS\nA\nMULTILINE\nSTRING", "MULTI_SINGLE_QUOTED", "THIS\nIS\nA\nMULTILINE\nSTRING"))},
		{name: "dotenv: INLINE_COMMENTS=inline comments # work #very #well", in: "INLINE_COMMENTS=inline comments # work #very #well",
			peers: differ(vals("INLINE_COMMENTS", "inline comments"),
				vals("INLINE_COMMENTS", "inline comments"),
				vals("INLINE_COMMENTS", "inline comments # work #very")), ours: msgCommentHash},
		{name: "dotenv: INLINE_COMMENTS_SPACE=inline comments start with a#space", in: "INLINE_COMMENTS_SPACE=inline comments start with a#space",
			peers: differ(vals("INLINE_COMMENTS_SPACE", "inline comments start with a#space"),
				vals("INLINE_COMMENTS_SPACE", "inline comments start with a"),
				vals("INLINE_COMMENTS_SPACE", "inline comments start with a#space")), ours: msgHash},
		{name: "dotenv: RETAIN_LEADING_DQUOTE=\"retained\\nRETAIN_LEADING_SQUOTE=\\'ret", in: "RETAIN_LEADING_DQUOTE=\"retained\nRETAIN_LEADING_SQUOTE='retained\nRETAIN_TRAILING_DQUOTE=retained\"\nRETAIN_TRAILING_SQUOTE=retained'",
			peers: agree(vals("RETAIN_LEADING_DQUOTE", "retained\nRETAIN_LEADING_SQUOTE='retained\nRETAIN_TRAILING_DQUOTE=retained", "RETAIN_TRAILING_SQUOTE", "retained'"))},
		{name: "dotenv: BACKTICK_KEY=`This has \\'single\\' and \"double\" quotes inside", in: "BACKTICK_KEY=`This has 'single' and \"double\" quotes inside of it.`",
			peers: differ(vals("BACKTICK_KEY", "`This has 'single' and \"double\" quotes inside of it.`"),
				vals("BACKTICK_KEY", "This has 'single' and \"double\" quotes inside of it."),
				vals("BACKTICK_KEY", "`This has 'single' and \"double\" quotes inside of it.`")), ours: msgBacktick},
		{name: "dotenv: BUFFER=true", in: "BUFFER=true",
			peers: agree(vals("BUFFER", "true"))},
		{name: "dotenv: what is this", in: "what is this",
			peers: differ(fails,
				vals(),
				vals("", "what is this")), ours: msgNoEquals},
		{name: "dotenv: MULTI_PEM_DOUBLE_QUOTED=\"-----BEGIN PUBLIC KEY-----\\nMIIBIjA", in: "MULTI_PEM_DOUBLE_QUOTED=\"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnNl1tL3QjKp3DZWM0T3u\n-----END PUBLIC KEY-----\"",
			peers: agree(vals("MULTI_PEM_DOUBLE_QUOTED", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnNl1tL3QjKp3DZWM0T3u\n-----END PUBLIC KEY-----"))},
		{name: "godotenv: fixtures/quoted.env", in: "OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\nOPTION_F=\"2\"\nOPTION_G=\"\"\nOPTION_H=\"\\n\"\nOPTION_I = \"echo 'asd'\"\nOPTION_J='line 1\nline 2'\nOPTION_K='line one\nthis is \\'quoted\\'\none more line'\nOPTION_L=\"line 1\nline 2\"\nOPTION_M=\"line one\nthis is \\\"quoted\\\"\none more line\"\n",
			peers: differ(vals("OPTION_A", "1", "OPTION_B", "2", "OPTION_C", "", "OPTION_D", "\\n", "OPTION_E", "1", "OPTION_F", "2", "OPTION_G", "", "OPTION_H", "\n", "OPTION_I", "echo 'asd'", "OPTION_J", "line 1\nline 2", "OPTION_K", "line one\nthis is 'quoted'\none more line", "OPTION_L", "line 1\nline 2", "OPTION_M", "line one\nthis is \"quoted\"\none more line"),
				vals("OPTION_A", "1", "OPTION_B", "2", "OPTION_C", "", "OPTION_D", "\\n", "OPTION_E", "1", "OPTION_F", "2", "OPTION_G", "", "OPTION_H", "\n", "OPTION_I", "echo 'asd'", "OPTION_J", "line 1\nline 2", "OPTION_K", "line one\nthis is \\'quoted\\'\none more line", "OPTION_L", "line 1\nline 2", "OPTION_M", "line one\nthis is \\\"quoted\\\"\none more line"),
				vals("OPTION_A", "1", "OPTION_B", "2", "OPTION_C", "", "OPTION_D", "\\n", "OPTION_E", "1", "OPTION_F", "2", "OPTION_G", "", "OPTION_H", "\n", "OPTION_I", "echo 'asd'", "OPTION_J", "line 1\nline 2", "OPTION_K", "line one\nthis is \\'quoted\\'\none more line", "OPTION_L", "line 1\nline 2", "OPTION_M", "line one\nthis is \"quoted\"\none more line")), ours: msgSQBackslash},
		{name: "godotenv: fixtures/comments.env", in: "# Full line comment\nfoo=bar # baz\nbar=foo#baz\nbaz=\"foo\"#bar\n",
			peers: differ(vals("foo", "bar", "bar", "foo#baz", "baz", "foo"),
				vals("foo", "bar", "bar", "foo", "baz", "foo"),
				vals("bar", "foo#baz", "baz", "foo", "foo", "bar")), ours: msgHash},
		{name: "godotenv: fixtures/substitutions.env", in: "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n",
			peers: differ(vals("OPTION_A", "1", "OPTION_B", "1", "OPTION_C", "$OPTION_B", "OPTION_D", "11", "OPTION_E", ""),
				vals("OPTION_A", "1", "OPTION_B", "${OPTION_A}", "OPTION_C", "$OPTION_B", "OPTION_D", "${OPTION_A}${OPTION_B}", "OPTION_E", "${OPTION_NOT_DEFINED}"),
				vals("OPTION_A", "1", "OPTION_B", "1", "OPTION_C", "1", "OPTION_D", "11", "OPTION_E", "")), ours: msgBraceRef, literal: true},
		{name: "godotenv: fixtures/plain.env", in: "OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\nOPTION_F = \nOPTION_G=\nOPTION_H=1 2",
			peers: agree(vals("OPTION_A", "1", "OPTION_B", "2", "OPTION_C", "3", "OPTION_D", "4", "OPTION_E", "5", "OPTION_F", "", "OPTION_G", "", "OPTION_H", "1 2"))},
		{name: "godotenv: fixtures/exported.env", in: "export OPTION_A=2\nexport OPTION_B='\\n'\n",
			peers: agree(vals("OPTION_A", "2", "OPTION_B", "\\n"))},
		{name: "godotenv: fixtures/equals.env", in: "export OPTION_A='postgres://localhost:5432/database?sslmode=disable'\n",
			peers: agree(vals("OPTION_A", "postgres://localhost:5432/database?sslmode=disable"))},
		{name: "godotenv: fixtures/invalid1.env", in: "INVALID LINE\nfoo=bar\n",
			peers: differ(fails,
				vals("foo", "bar"),
				fails), ours: msgNoEquals},
		{name: "godotenv: FOO=\"escaped\\\\\"bar\"", in: "FOO=\"escaped\\\"bar\"",
			peers: differ(vals("FOO", "escaped\"bar"),
				vals("FOO", "escaped\\\"bar"),
				vals("FOO", "escaped\"bar")), ours: msgDQBackslash},
		{name: "godotenv: FOO=\"\\'d\\'\"", in: "FOO=\"'d'\"",
			peers: agree(vals("FOO", "'d'"))},
		{name: "godotenv: OPTION_A: 1", in: "OPTION_A: 1",
			peers: differ(fails,
				vals("OPTION_A", "1"),
				vals("OPTION_A", "1")), ours: msgBadName},
		{name: "godotenv: OPTION_A=1:B", in: "OPTION_A=1:B",
			peers: agree(vals("OPTION_A", "1:B"))},
		{name: "godotenv: export exportFoo=2", in: "export exportFoo=2",
			peers: agree(vals("exportFoo", "2"))},
		{name: "godotenv: exportFOO=2", in: "exportFOO=2",
			peers: agree(vals("exportFOO", "2"))},
		{name: "godotenv: export_FOO =2", in: "export_FOO =2",
			peers: agree(vals("export_FOO", "2"))},
		{name: "godotenv: export\\tOPTION_A=2", in: "export\tOPTION_A=2",
			peers: agree(vals("OPTION_A", "2"))},
		{name: "godotenv: \\texport OPTION_A=2", in: "\texport OPTION_A=2",
			peers: agree(vals("OPTION_A", "2"))},
		{name: "godotenv: FOO=\"bar\\\\nbaz\"", in: "FOO=\"bar\\nbaz\"",
			peers: agree(vals("FOO", "bar\nbaz"))},
		{name: "godotenv: FOO=foobar=", in: "FOO=foobar=",
			peers: agree(vals("FOO", "foobar="))},
		{name: "godotenv: FOO=bar ", in: "FOO=bar ",
			peers: agree(vals("FOO", "bar"))},
		{name: "godotenv: KEY=value value", in: "KEY=value value",
			peers: agree(vals("KEY", "value value"))},
		{name: "godotenv: FOO=bar # this is foo", in: "FOO=bar # this is foo",
			peers: agree(vals("FOO", "bar"))},
		{name: "godotenv: FOO=\"bar#baz\" # comment", in: "FOO=\"bar#baz\" # comment",
			peers: agree(vals("FOO", "bar#baz"))},
		{name: "godotenv: FOO='bar#baz' # comment", in: "FOO='bar#baz' # comment",
			peers: agree(vals("FOO", "bar#baz"))},
		{name: "godotenv: FOO=\"bar#baz#bang\" # comment", in: "FOO=\"bar#baz#bang\" # comment",
			peers: agree(vals("FOO", "bar#baz#bang"))},
		{name: "godotenv: FOO=\"ba#r\"", in: "FOO=\"ba#r\"",
			peers: agree(vals("FOO", "ba#r"))},
		{name: "godotenv: FOO=\"bar\\\\n\\\\ b\\\\az\"", in: "FOO=\"bar\\n\\ b\\az\"",
			peers: differ(vals("FOO", "bar\n\\ b\x07z"),
				vals("FOO", "bar\n\\ b\\az"),
				vals("FOO", "bar\n baz")), ours: msgBadEscape},
		{name: "godotenv: FOO=\"bar\\\\\\\\\\\\n\\\\ b\\\\az\"", in: "FOO=\"bar\\\\\\n\\ b\\az\"",
			peers: differ(vals("FOO", "bar\\\n\\ b\x07z"),
				vals("FOO", "bar\\\\\n\\ b\\az"),
				vals("FOO", "bar\\\n baz")), ours: msgDQBackslash},
		{name: "godotenv: FOO=\"bar\\\\\\\\r\\\\ b\\\\az\"", in: "FOO=\"bar\\\\r\\ b\\az\"",
			peers: differ(vals("FOO", "bar\\r\\ b\x07z"),
				vals("FOO", "bar\\\r\\ b\\az"),
				vals("FOO", "bar\\r baz")), ours: msgDQBackslash},
		{name: "godotenv: =\"value\"", in: "=\"value\"",
			peers: differ(fails,
				vals(),
				vals("", "value")), ours: msgBadName},
		{name: "godotenv: \\tKEY=value", in: "\tKEY=value",
			peers: agree(vals("KEY", "value"))},
		{name: "godotenv: OPTION_A=1\\nOPTION_B=\"$OPTION_A\"\\nOPTION_C=\\'$OPTION_A\\'\\nOP", in: "OPTION_A=1\nOPTION_B=\"$OPTION_A\"\nOPTION_C='$OPTION_A'\nOPTION_D=\"\\$OPTION_A\"\nOPTION_E=\\$OPTION_A",
			peers: differ(vals("OPTION_A", "1", "OPTION_B", "$OPTION_A", "OPTION_C", "$OPTION_A", "OPTION_D", "\\$OPTION_A", "OPTION_E", "\\$OPTION_A"),
				vals("OPTION_A", "1", "OPTION_B", "$OPTION_A", "OPTION_C", "$OPTION_A", "OPTION_D", "\\$OPTION_A", "OPTION_E", "\\$OPTION_A"),
				vals("OPTION_A", "1", "OPTION_B", "1", "OPTION_C", "$OPTION_A", "OPTION_D", "$OPTION_A", "OPTION_E", "$OPTION_A")), ours: msgDollarRef},
	}
}

func TestInteropFixtures(t *testing.T) {
	cases := interopCases()
	docs := make([][]byte, len(cases))
	for i, c := range cases {
		docs[i] = []byte(c.in)
	}
	got := readAll(t, docs)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for p := range numPeers {
				if !c.peers[p].matches(got[i].by[p]) {
					t.Errorf("%s read %+v, the fixture expects %+v", p, got[i].by[p], c.peers[p])
				}
			}
			entries, err := Parse(docs[i])
			switch {
			case err == nil && c.ours != "":
				t.Errorf("Parse accepted it, want the error %q", c.ours)
			case err != nil && c.ours == "":
				t.Errorf("Parse: %v", err)
			case err != nil:
				var e *Error
				if !errors.As(err, &e) || e.Msg != c.ours && !strings.HasPrefix(e.Msg, strings.SplitN(c.ours, "%", 2)[0]) {
					t.Errorf("Parse: %v, want the message %q", err, c.ours)
				}
			}
			checkAgreement(t, docs[i], entries, err, got[i])
			if c.literal {
				entries, err := ParseWith(docs[i], Options{Literal: true})
				if err != nil {
					t.Fatalf("ParseWith Literal: %v", err)
				}
				if !got[i].by[node].equal(toMap(entries)) || !got[i].pythonRaw.equal(toMap(entries)) {
					t.Errorf("ParseWith Literal read %q; Node's dotenv read %q, python-dotenv with interpolate=False %q", toMap(entries), got[i].by[node].vals, got[i].pythonRaw.vals)
				}
			}
		})
	}
}

// checkAgreement checks the rule of this package: what Parse accepts, every
// peer reads alike, without reporting a problem.
func checkAgreement(t *testing.T, doc []byte, entries []Entry, err error, r readings) {
	t.Helper()
	if err != nil {
		return
	}
	ours := toMap(entries)
	for p := range numPeers {
		if !r.by[p].equal(ours) {
			t.Errorf("Parse accepted a document that %s reads differently (variables %s)", p, differingNames(ours, r.by[p]))
			if *showDocs {
				t.Logf("document %q: Parse read %q, %s read %q (ok %v)", doc, ours, p, r.by[p].vals, r.by[p].ok)
			}
		}
	}
}

// differingNames lists the names whose values differ between ours and r.
func differingNames(ours map[string]string, r reading) string {
	var names []string
	for name := range maps.Keys(ours) {
		if v, ok := r.vals[name]; !ok || v != ours[name] {
			names = append(names, name)
		}
	}
	for name := range maps.Keys(r.vals) {
		if _, ok := ours[name]; !ok {
			names = append(names, name+" (only the peer has it)")
		}
	}
	if !r.ok {
		names = append(names, "(the peer reported a problem)")
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// The building blocks of random values and documents: mostly harmless
// text, and every character that some peer treats specially.
var (
	plainPieces = []string{
		"a", "Z", "q", "7", "0", "x_y", "token", "-", ".", "/", ":", "=", "+", "@", "%", ",", ";", "!", "?", "*",
		"&", "~", "^", "|", "<", ">", "[", "]", "é", "秘", "🔑", "base64==",
	}
	hostilePieces = []string{
		" ", "  ", "\t", `\`, `\\`, "'", `"`, "`", "$", "${A}", "${x:-d}", "$HOME", "$x", "$1", "$(", "$(A)", "${",
		"}", "{", "(", ")", "#", " #", "\t#", "\n", "\r", "\r\n", "\n\n", `\n`, `\r`, `\t`, `\$`, `\"`, `\'`,
		"\u00a0", "\u2003", "\u2028", "\u2029", "\u3000", "\ufeff", "\u0085", "\x01", "\x1b", "\v", "\f", "\x7f",
	}
)

// randomValue returns a value: half of them mostly plain with a few
// special pieces, half mostly special; some end with a backslash or have
// blanks around them.
func randomValue(r *rand.Rand) string {
	var b strings.Builder
	hostile := r.IntN(2) == 0
	for n := r.IntN(16); n > 0; n-- {
		if hostile && r.IntN(3) > 0 || !hostile && r.IntN(8) == 0 {
			b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
		} else {
			b.WriteString(plainPieces[r.IntN(len(plainPieces))])
		}
	}
	v := b.String()
	switch r.IntN(10) {
	case 0:
		v += `\`
	case 1:
		v = " " + v + " "
	}
	return v
}

// randomDocument returns a document of a few lines built from the pieces
// of dotenv syntax, valid or not, with random line endings.
func randomDocument(r *rand.Rand) []byte {
	names := []string{"A", "B", "c_1", "_D", "export", "E"}
	var b bytes.Buffer
	for n := 1 + r.IntN(4); n > 0; n-- {
		b.WriteString([]string{"", "", " ", "\t", "\u00a0"}[r.IntN(5)])
		switch r.IntN(8) {
		case 0:
			b.WriteString("# " + randomValue(r))
		case 1:
			// a blank line
		default:
			if r.IntN(4) == 0 {
				b.WriteString([]string{"export ", "export\t", "export  "}[r.IntN(3)])
			}
			b.WriteString(names[r.IntN(len(names))])
			b.WriteString([]string{"=", "=", "=", " = ", "=\t", " =", ":"}[r.IntN(7)])
			v := randomValue(r)
			switch r.IntN(5) {
			case 0:
				b.WriteString("'" + v + "'")
			case 1:
				b.WriteString(`"` + v + `"`)
			case 2:
				b.WriteString("`" + v + "`")
			default:
				if r.IntN(4) > 0 {
					v = strings.Map(func(c rune) rune {
						if c == '\r' || c == '\n' {
							return -1
						}
						return c
					}, v)
				}
				b.WriteString(v)
			}
			switch r.IntN(5) {
			case 0:
				b.WriteString(" # " + randomValue(r))
			case 1:
				b.WriteString("#c")
			}
		}
		b.WriteString([]string{"\n", "\n", "\n", "\r\n", "\r", ""}[r.IntN(6)])
	}
	return b.Bytes()
}

// TestInteropRandomDocuments has the peers and Parse read random
// documents: whatever Parse accepts, every peer must read alike.
func TestInteropRandomDocuments(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 2026))
	n := 3000
	if testing.Short() {
		n = 500
	}
	docs := make([][]byte, n)
	for i := range docs {
		docs[i] = randomDocument(r)
	}
	got := readAll(t, docs)
	accepted, literal := 0, 0
	for i, doc := range docs {
		entries, err := Parse(doc)
		if err == nil {
			accepted++
		} else {
			checkError(t, doc, err)
		}
		checkAgreement(t, doc, entries, err, got[i])
		if lit, err := ParseWith(doc, Options{Literal: true}); err == nil {
			literal++
			if m := toMap(lit); !got[i].by[node].equal(m) || !got[i].pythonRaw.equal(m) {
				t.Errorf("ParseWith Literal accepted a document that Node's dotenv or python-dotenv with interpolate=False reads differently")
			}
		}
		if t.Failed() {
			t.Fatalf("document %d of %d disagrees (rerun with -dotenv.show to see it)", i, n)
		}
	}
	t.Logf("%d random documents: Parse accepted %d and refused %d; with Literal it accepted %d", n, accepted, n-accepted, literal)
	if accepted < n/10 {
		t.Errorf("Parse accepted only %d of %d random documents: the generator no longer tests acceptance", accepted, n)
	}
}

// TestInteropRoundTrip writes random values in each format and has the
// readers the format is meant for read them back: FormatDotenv by all
// three peers and Parse, each other format by its peer. A value the format
// cannot hold must be refused by QuoteFormat; every other value must come
// back exactly. Failures report counts and names, never values.
func TestInteropRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 2026))
	const n = 400
	values := make([]string, n)
	for i := range values {
		values[i] = randomValue(r)
	}
	formats := Formats()
	docs := make([][]byte, len(formats))
	written := make([]map[string]string, len(formats))
	for fi, f := range formats {
		written[fi] = map[string]string{}
		for i, v := range values {
			if _, err := QuoteFormat(v, f); err == nil {
				written[fi][fmt.Sprintf("V%03d", i)] = v
			}
		}
		var buf bytes.Buffer
		if err := WriteFormat(&buf, written[fi], f); err != nil {
			t.Fatalf("WriteFormat(%s) of the values QuoteFormat accepts: %v", f, err)
		}
		docs[fi] = buf.Bytes()
	}
	got := readAll(t, docs)
	for fi, f := range formats {
		readers := map[string]reading{}
		switch f {
		case FormatDotenv:
			for p := range numPeers {
				readers[p.String()] = got[fi].by[p]
			}
			entries, err := Parse(docs[fi])
			if err != nil {
				t.Errorf("%s: Parse: %v", f, err)
			}
			readers["dstack-secrets"] = reading{ok: err == nil, vals: toMap(entries)}
		case FormatPython:
			readers[python.String()] = got[fi].by[python]
		case FormatNode:
			readers[node.String()] = got[fi].by[node]
		case FormatGodotenv:
			readers[goDotenv.String()] = got[fi].by[goDotenv]
		}
		w := written[fi]
		var counts []string
		for _, name := range slices.Sorted(maps.Keys(readers)) {
			rd := readers[name]
			exact := 0
			var wrong []string
			for k, v := range w {
				if got, ok := rd.vals[k]; ok && got == v {
					exact++
				} else {
					wrong = append(wrong, k)
				}
			}
			counts = append(counts, fmt.Sprintf("%s %d/%d", name, exact, len(w)))
			if exact != len(w) || len(rd.vals) != len(w) || !rd.ok {
				slices.Sort(wrong)
				t.Errorf("%s: %s read %d of %d values exactly (%d variables, problem reported: %v); wrong: %s", f, name, exact, len(w), len(rd.vals), !rd.ok, strings.Join(wrong, ", "))
				if *showDocs {
					for _, k := range wrong {
						t.Logf("%s: %s = %q, %s read %q", f, k, w[k], name, rd.vals[k])
					}
				}
			}
		}
		t.Logf("%s: %d of %d random values written (%d refused); read back exactly: %s", f, len(w), n, n-len(w), strings.Join(counts, ", "))
	}
	// Sanity: every format holds most values, and the per-peer formats
	// hold at least as many as the common one.
	for fi, f := range formats {
		if len(written[fi]) < len(written[0]) || len(written[fi]) < n/2 {
			t.Errorf("%s holds %d of %d values (%s holds %d)", f, len(written[fi]), n, FormatDotenv, len(written[0]))
		}
	}
}

// TestShellsSourceSingleQuoted checks the promise of Quote that its
// single-quoted values, the ones it prefers, mean the same to a POSIX shell:
// a FormatDotenv document of only such values, sourced by dash and zsh,
// sets exactly those values.
func TestShellsSourceSingleQuoted(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 2026))
	vars := map[string]string{}
	for i := 0; len(vars) < 200 && i < 5000; i++ {
		v := randomValue(r)
		if q, err := Quote(v); err == nil && strings.HasPrefix(q, "'") && !strings.Contains(v, "\x00") {
			vars[fmt.Sprintf("V%03d", len(vars))] = v
		}
	}
	if len(vars) < 200 {
		t.Fatalf("only %d random values are single-quoted", len(vars))
	}
	var buf bytes.Buffer
	if err := Write(&buf, vars); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "secrets.env")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, shell := range []string{"dash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			path, err := exec.LookPath(shell)
			if err != nil {
				if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") == "1" {
					t.Fatalf("%s is required (DSTACK_SECRETS_TEST_REQUIRE_SERVICES=1) but not installed", shell)
				}
				t.Skipf("%s is not installed; %s", shell, installHint)
			}
			cmd := exec.Command(path, "-c", `set -a; . "$1"; exec env -0`, shell, file)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s could not source the document: %v", shell, err)
			}
			got := map[string]string{}
			for _, kv := range strings.Split(string(out), "\x00") {
				if name, value, ok := strings.Cut(kv, "="); ok {
					got[name] = value
				}
			}
			exact := 0
			for name, v := range vars {
				if gv, ok := got[name]; ok && gv == v {
					exact++
				}
			}
			if exact != len(vars) {
				t.Errorf("%s set %d of %d single-quoted values exactly", shell, exact, len(vars))
			}
		})
	}
}

// FuzzGodotenv checks, against godotenv (the one peer that runs in this
// process, so fast enough to fuzz), that a value FormatDotenv or
// FormatGodotenv writes is read back exactly, and that a document Parse
// accepts is read alike (python-dotenv and Node's dotenv are checked by the
// tests above on random input instead).
func FuzzGodotenv(f *testing.F) {
	for _, c := range interopCases() {
		f.Add(c.in)
	}
	f.Add(`it's \`)
	f.Add("a\r\nb\"$HOME")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		for _, fm := range []Format{FormatDotenv, FormatGodotenv} {
			var buf bytes.Buffer
			if err := WriteFormat(&buf, map[string]string{"A": s, "B": s}, fm); err != nil {
				continue
			}
			got, err := godotenv.Parse(bytes.NewReader(buf.Bytes()))
			if err != nil || len(got) != 2 || got["A"] != s || got["B"] != s {
				t.Fatalf("godotenv does not read the %s form back exactly (error: %v)", fm, err != nil)
			}
		}
		entries, err := Parse([]byte(s))
		if err != nil {
			return
		}
		got, gerr := godotenv.Parse(strings.NewReader(s))
		if gerr != nil || !maps.Equal(got, toMap(entries)) {
			t.Fatalf("Parse accepted a document that godotenv reads differently (error: %v)", gerr != nil)
		}
	})
}
