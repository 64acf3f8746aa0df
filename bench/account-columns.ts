/**
 * Issue 11's start-up question: what the two account columns (account_id, account_name) on every resource table
 * cost the engine template. In one run, alternating, for the every-type catalog with and without those columns:
 * the template's build time (a fresh cache), its size, and one engine's start from it (what `ready in` waits for).
 *
 *   npm run -s build && node dist/bench/account-columns.js [--rounds 2]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { catalog, catalogDdl } from '../catalog/index.js';
import { EnginePool } from '../server/engine/pool.js';
import { ensureTemplate } from '../server/engine/template.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' } } });
const rounds = Number(values.rounds);

const withAccounts = catalogDdl(catalog);
// The same DDL as before the columns existed: their definitions and comments left out.
const withoutAccounts = withAccounts
  .split('\n')
  .filter((l) => !/^ {2}"account_(id|name)" text,?$/.test(l) && !/\."account_(id|name)" IS /.test(l))
  .join('\n')
  .replace(/"data__patchdocument" text,\n\)/g, '"data__patchdocument" text\n)');

// Not under TMPDIR's own cache: every build here starts from nothing. Readable by others (initdb as postgres).
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-account-columns-'));
fs.chmodSync(cache, 0o755);
const variants = [
  ['without', withoutAccounts],
  ['with', withAccounts],
] as const;
const figures = Object.fromEntries(
  variants.map(([name]) => [name, { buildMs: [] as number[], startMs: [] as number[], bytes: 0 }]),
);
try {
  for (let round = 0; round < rounds; round++) {
    for (const [name, ddl] of variants) {
      const dir = path.join(cache, `${name}-${round}`);
      let started = performance.now();
      const file = await ensureTemplate(ddl, dir);
      figures[name]!.buildMs.push(Math.round(performance.now() - started));
      figures[name]!.bytes = fs.statSync(file).size;
      started = performance.now();
      const pool = await EnginePool.start({ ddl, engines: 1, cacheDir: dir });
      figures[name]!.startMs.push(Math.round(performance.now() - started));
      await pool.close();
    }
  }
} finally {
  fs.rmSync(cache, { recursive: true, force: true });
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const [before, after] = [figures.without!, figures.with!];
console.log(`DDL: ${withoutAccounts.length} -> ${withAccounts.length} bytes`);
console.log(`| figure | without account columns | with | ratio |\n|---|---|---|---|`);
console.log(
  `| template build (ms) | ${before.buildMs.join(', ')} | ${after.buildMs.join(', ')} | ${(mean(after.buildMs) / mean(before.buildMs)).toFixed(2)} |`,
);
console.log(
  `| one engine's start (ms) | ${before.startMs.join(', ')} | ${after.startMs.join(', ')} | ${(mean(after.startMs) / mean(before.startMs)).toFixed(2)} |`,
);
console.log(
  `| template size (MB) | ${(before.bytes / 2 ** 20).toFixed(1)} | ${(after.bytes / 2 ** 20).toFixed(1)} | ${(after.bytes / before.bytes).toFixed(2)} |`,
);
