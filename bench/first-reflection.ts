/**
 * SQLAlchemy's first inspect() of a schema as a fresh bridge's first client, beside the same reflection against
 * PostgreSQL 15 holding the same DDL, alternated round by round so both see the same minutes. On these shared
 * 2-core machines the reflection's absolute time moves 2-3x between hours (PostgreSQL 15's own from 0.47 to 1.7 s);
 * the ratio of the medians is the figure to read.
 *
 * Each round: for each build, a new bridge (every type, template cached) on the emulator, the first client
 * --after-ready ms after its "listening" line, then stopped; then one new connection to the reference (its Unix
 * socket: over TCP its reflection took the same, 0.8-1.7 s both ways in one run). Each client then reflects once
 * more on the same connection (the bridge answers that one from its result cache), and the client's own CPU is
 * kept for both: what SQLAlchemy and psycopg2 take of the wall time, which no server can cut.
 *
 *   npm run -s build && node dist/bench/first-reflection.js [--rounds 6] [--schema ec2] [--after-ready 4000]
 *     [--bridge before=other/dist/server/main.js ...]
 * --bridge label=main.js: the builds to compare (default: this one, as `bridge`), alternated within each round.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEmulator } from '../emulator/index.js';
import { startCatalogReference } from './postgres15.js';
import { exampleAwsEnv, listeningPort, sqlalchemyInspect, type Reflection } from './support.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    schema: { type: 'string', default: 'ec2' },
    'after-ready': { type: 'string', default: '4000' },
    bridge: { type: 'string', multiple: true },
  },
});
const root = path.resolve(import.meta.dirname, '..', '..');
const builds = (values.bridge ?? [`bridge=${path.join(root, 'dist/server/main.js')}`]).map((b) => {
  const [label, main] = b.split('=');
  if (!label || !main) throw new Error(`--bridge ${b}: expected label=path/to/server/main.js`);
  return { label, main: path.resolve(main) };
});
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The first reflection and its repeat on the same connection. */
const reflect = (url: string) => sqlalchemyInspect(url, values.schema, 2);

const loadAtStart = loadAverage();
const reference = await startCatalogReference();
const emulator = await startEmulator({ port: 0, logLevel: 'silent' });
/** Per round: each build's first reflection (and its repeat), then PostgreSQL 15's. */
const rounds: { bridges: Reflection[][]; postgres: Reflection[] }[] = [];
const answers = new Set<string>();
/** A fresh bridge of `main`, its first client's reflection, the bridge stopped. */
async function firstReflection(main: string): Promise<ReturnType<typeof reflect>> {
  const bridge = spawn(
    process.execPath,
    [main, '--port', '0', '--endpoint', emulator.endpoint, '--region', 'us-east-1', '--log-level', 'warn'],
    { env: exampleAwsEnv, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await listeningPort(bridge);
    await new Promise((resolve) => setTimeout(resolve, Number(values['after-ready'])));
    return reflect(`postgresql+psycopg2://postgres@127.0.0.1:${port}/aws`);
  } finally {
    bridge.kill('SIGTERM');
    await once(bridge, 'exit');
  }
}
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    const bridges: Reflection[][] = [];
    for (const { main } of builds) {
      const first = await firstReflection(main);
      answers.add(first.answer);
      bridges.push(first.reflections);
    }
    const postgres = reflect(
      `postgresql+psycopg2://postgres@/aws?host=${reference.dir}&port=${reference.port}`,
    );
    answers.add(postgres.answer);
    rounds.push({ bridges, postgres: postgres.reflections });
  }
} finally {
  await emulator.close();
  await reference.stop();
}

const postgresMs = rounds.map((r) => r.postgres[0]!.ms);
const postgresMedian = median(postgresMs);
const under = (xs: number[]) => `${xs.filter((ms) => ms < 1000).length} of ${xs.length}`;
const cells = (xs: number[], reference: number) =>
  xs.map((ms) => `${ms.toFixed(0)} (${(ms / reference).toFixed(2)})`).join(' | ');
console.log(
  `## SQLAlchemy's first reflection of ${values.schema}: a fresh bridge's first client against PostgreSQL 15 ` +
    `(${new Date().toISOString()}, first client ${values['after-ready']} ms after ready, load ${loadAtStart} at ` +
    `start, ${loadAverage()} at end)\n`,
);
console.log(
  `| round | ${builds.map((b) => `${b.label} ms (/ PostgreSQL 15)`).join(' | ')} | PostgreSQL 15 ms |`,
);
console.log(`| --- | ${builds.map(() => '---').join(' | ')} | --- |`);
const firstMs = (b: number) => rounds.map((r) => r.bridges[b]![0]!.ms);
rounds.forEach((r, i) =>
  console.log(
    `| ${i + 1} | ${cells(
      r.bridges.map((b) => b[0]!.ms),
      r.postgres[0]!.ms,
    )} | ${r.postgres[0]!.ms.toFixed(0)} |`,
  ),
);
const medians = builds.map((_, b) => median(firstMs(b)));
console.log(`| median | ${cells(medians, postgresMedian)} | ${postgresMedian.toFixed(0)} |\n`);
console.log(
  `Under 1 s: ${builds.map((b, i) => `${b.label} ${under(firstMs(i))}`).join(', ')}, ` +
    `PostgreSQL 15 ${under(postgresMs)}. Answers: ${[...answers].join('; ')}` +
    `${answers.size > 1 ? ' (they differ!)' : ''}. ${builds.map((b) => `${b.label}: ${b.main}`).join('; ')}.`,
);

/** Medians of the first reflection's client CPU and of the repeat (wall, client CPU). */
const parts = (of: (r: (typeof rounds)[number]) => Reflection[]) => {
  const m = (pick: (r: Reflection[]) => number) => median(rounds.map((r) => pick(of(r)))).toFixed(0);
  return `${m((r) => r[0]!.clientCpuMs)} | ${m((r) => r[1]!.ms)} | ${m((r) => r[1]!.clientCpuMs)}`;
};
console.log(
  `\n| medians | first reflection: the client's CPU ms | the repeat on the same connection, ms | its client's CPU ms |`,
);
console.log('| --- | --- | --- | --- |');
builds.forEach((b, i) => console.log(`| ${b.label} | ${parts((r) => r.bridges[i]!)} |`));
console.log(`| PostgreSQL 15 | ${parts((r) => r.postgres)} |`);
