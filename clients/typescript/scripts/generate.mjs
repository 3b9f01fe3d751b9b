#!/usr/bin/env node
// Generates src/schema.ts from the repository's committed OpenAPI document
// (openapi/openapi.json) with openapi-typescript: `npm run generate`.
//
// With an argument, writes there instead (the CI drift check generates into a
// temporary file and compares it with the committed src/schema.ts), so the
// check and `npm run generate` always run the same command.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const spec = here("../../../openapi/openapi.json");
const out = process.argv[2] ?? here("../src/schema.ts");
const cli = here("../node_modules/openapi-typescript/bin/cli.js");

const run = spawnSync(process.execPath, [cli, spec, "--output", out], { stdio: "inherit" });
if (run.error) throw run.error;
process.exit(run.status ?? 1);
