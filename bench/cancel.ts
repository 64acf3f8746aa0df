/**
 * Issue 8's two figures, through real sockets against the built-in emulator and one bridge (default engines):
 * how soon a connected client's `SELECT 1` is answered after two clients running endless statements were killed,
 * and a bystander's `SELECT 1` latency beside two clients looping on a statement_timeout (docs/ENGINE.md).
 *
 *   npm run -s build && node dist/bench/cancel.js [--rounds 5] [--timeout-ms 100] [--samples 60]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'timeout-ms': { type: 'string', default: '100' },
    samples: { type: 'string', default: '60' },
  },
});
const root = path.resolve(import.meta.dirname, '..', '..');
const endless = 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r';

function start(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const match = out.match(ready);
      if (match) resolve({ child, match });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}:\n${out}`)));
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const emulator = await start(['dist/emulator/main.js', '--port', '0'], /listening on (http:\/\/[\d.]+:\d+)/);
const bridge = await start(
  ['dist/server/main.js', '--port', '0', '--endpoint', emulator.match[1]!, '--region', 'us-east-1'],
  /listening on [\d.]+:(\d+)/,
);
const port = Number(bridge.match[1]);
const client = async () => {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'aws' });
  await c.connect();
  return c;
};

try {
  const afterKill: number[] = [];
  for (let i = 0; i < Number(values.rounds); i++) {
    const killed = [0, 1].map(() =>
      spawn('psql', [`host=127.0.0.1 port=${port} dbname=aws user=postgres`, '-X', '-q', '-c', endless], {
        stdio: 'ignore',
      }),
    );
    await sleep(1500);
    const c = await client();
    for (const k of killed) k.kill('SIGKILL');
    const t = performance.now();
    await c.query('SELECT 1');
    afterKill.push(performance.now() - t);
    await c.end();
    await sleep(300);
  }
  console.log(
    `SELECT 1 after 2 clients in endless statements were killed: ${afterKill.map((x) => x.toFixed(0)).join(', ')} ms`,
  );

  const bystander = await client();
  const measure = async (n: number) => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await bystander.query('SELECT 1');
      times.push(performance.now() - t);
      await sleep(10);
    }
    return times.sort((a, b) => a - b);
  };
  const alone = await measure(40);
  let looping = true;
  const loopers = await Promise.all([client(), client()]);
  const loops = loopers.map(async (c) => {
    await c.query(`SET statement_timeout = ${Number(values['timeout-ms'])}`);
    let timeouts = 0;
    while (looping) await c.query(endless).catch(() => timeouts++);
    return timeouts;
  });
  await sleep(Number(values['timeout-ms']) * 3);
  const beside = await measure(Number(values.samples));
  looping = false;
  const timeouts = await Promise.all(loops);
  console.log(
    `bystander SELECT 1 alone: p50 ${percentile(alone, 50).toFixed(1)} ms; beside 2 clients looping on a ` +
      `${values['timeout-ms']} ms statement_timeout (${timeouts.join(' and ')} timeouts): ` +
      `p50 ${percentile(beside, 50).toFixed(1)} ms, p90 ${percentile(beside, 90).toFixed(1)} ms`,
  );
  await Promise.all([bystander, ...loopers].map((c) => c.end()));
} finally {
  bridge.child.kill();
  emulator.child.kill();
}
