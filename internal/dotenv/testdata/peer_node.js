// Reads dotenv files with Node's dotenv and prints one JSON line per file.
//
// Usage: node peer_node.js FILE...   (or --version)
//
// Node's dotenv is loaded from $DSTACK_SECRETS_TEST_NODE_DOTENV/node_modules
// (scripts/services/peers.sh installs it there). Each line is
// {"ok": true, "values": {NAME: VALUE}}, read the way dotenv.config() reads
// a file: the file decoded as UTF-8 and given to dotenv.parse. Node's dotenv
// never reports a line it cannot read (it skips it), so "ok" is always true.
// Used by interop_test.go.
'use strict'
const fs = require('fs')
const path = require('path')

const dir = process.env.DSTACK_SECRETS_TEST_NODE_DOTENV
if (!dir) {
  process.stderr.write('DSTACK_SECRETS_TEST_NODE_DOTENV is not set\n')
  process.exit(2)
}
const dotenv = require(path.join(dir, 'node_modules', 'dotenv'))
const args = process.argv.slice(2)
if (args.length === 1 && args[0] === '--version') {
  process.stdout.write(require(path.join(dir, 'node_modules', 'dotenv', 'package.json')).version + '\n')
  process.exit(0)
}
const out = []
for (const file of args) {
  try {
    const values = dotenv.parse(fs.readFileSync(file, { encoding: 'utf8' }))
    out.push(JSON.stringify({ ok: true, values }))
  } catch (e) {
    out.push(JSON.stringify({ ok: false, exception: e.name }))
  }
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''))
