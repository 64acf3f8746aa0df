/**
 * Start-up of the bridge from a cached engine template: for each build given (a dist/ directory, so a former
 * commit's build can run beside this one) and each type selection, starts `node <dist>/server/main.js` against an
 * emulator and records the process start to its "listening" line, the server's own `ready in`, and the RSS
 * 0.3 s after it. Builds and selections alternate within each round, so all see the same load; compare ratios.
 *
 *   npm run -s build && node dist/bench/startup.js [--rounds 3] [--engines 2]
 *        [--build now=dist] [--build before=/tmp/before/dist] [--select all=] [--select one=AWS::AppFlow::ConnectorProfile]
 *        [--skip before:all]
 * --skip <build label>:<selection label>: a pair not to start (e.g. a former build with every type, when only its
 * one-type figures are the reference).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulator } from '../emulator/index.js';
import { exampleAwsEnv } from './support.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    engines: { type: 'string', default: '2' },
    build: { type: 'string', multiple: true },
    select: { type: 'string', multiple: true },
    skip: { type: 'string', multiple: true },
  },
});
const skipped = new Set(values.skip ?? []);
const labelled = (items: string[] | undefined, fallback: string[]) =>
  (items ?? fallback).map((item) => {
    const eq = item.indexOf('=');
    return { label: item.slice(0, eq), value: item.slice(eq + 1) };
  });
const builds = labelled(values.build, [`now=${path.resolve('dist')}`]);
const selections = labelled(values.select, ['all=', 'one=AWS::AppFlow::ConnectorProfile']);
const rounds = Number(values.rounds);

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

interface Start {
  toListening: number;
  readyIn: number;
  rss: number;
}

function start(dist: string, types: string, endpoint: string): Promise<Start> {
  const t0 = performance.now();
  const args = [path.join(dist, 'server/main.js'), '--port', '0', '--endpoint', endpoint];
  args.push('--region', 'us-east-1', '--engines', values.engines!, '--log-level', 'warn');
  if (types) args.push('--types', types);
  const child = spawn(process.execPath, args, {
    env: exampleAwsEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`the bridge exited with ${code}:\n${out}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on .* \(ready in (\d+) ms\)/.exec(out);
      if (!m) return;
      const toListening = performance.now() - t0;
      child.stdout.removeAllListeners('data');
      setTimeout(() => {
        const rss = rssMb(child.pid!);
        child.removeAllListeners('exit');
        child.once('exit', () => resolve({ toListening, readyIn: Number(m[1]), rss }));
        child.kill('SIGTERM');
      }, 300);
    });
  });
}

const emulator = await startEmulator({ port: 0, logLevel: 'silent' });
const results = new Map<string, Start[]>();
// A first start of each pair builds its template if absent: not counted.
for (const build of builds)
  for (const selection of selections)
    if (!skipped.has(`${build.label}:${selection.label}`))
      await start(build.value, selection.value, emulator.endpoint);
for (let round = 0; round < rounds; round++) {
  for (const selection of selections) {
    for (const build of builds) {
      if (skipped.has(`${build.label}:${selection.label}`)) continue;
      const key = `${build.label} | ${selection.label}`;
      const r = await start(build.value, selection.value, emulator.endpoint);
      results.set(key, [...(results.get(key) ?? []), r]);
      console.error(
        `${key}: ${Math.round(r.toListening)} ms to listening, ready in ${r.readyIn} ms, ${Math.round(r.rss)} MB`,
      );
    }
  }
}
await emulator.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(
  `## Start-up (${new Date().toISOString()}, ${values.engines} engines, ${rounds} rounds, load ${load})\n`,
);
console.log('| build | types | process start to listening, ms | `ready in`, ms | RSS 0.3 s after, MB |');
console.log('| --- | --- | --- | --- | --- |');
for (const [key, rs] of results) {
  const cells = [rs.map((r) => r.toListening), rs.map((r) => r.readyIn), rs.map((r) => r.rss)].map(
    (xs) => `${xs.map((x) => Math.round(x)).join(', ')} (median ${Math.round(median(xs))})`,
  );
  console.log(`| ${key} | ${cells.join(' | ')} |`);
}
