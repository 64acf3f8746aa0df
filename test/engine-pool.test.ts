import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { engineTestCacheDir, engineTestDdl, query } from './support/engine-fixture.js';
import { projectRoot } from './support/processes.js';

type PoolModule = typeof import('../server/engine/pool.js');
type EnginePool = import('../server/engine/pool.js').EnginePool;
type EngineUnit = import('../server/engine/pool.js').EngineUnit;

// The engines spawn their workers from dist/ (ts-jest cannot load a worker from TS sources): build first.
const { EnginePool } = (await import(path.join(projectRoot, 'dist/server/engine/pool.js'))) as PoolModule;
const { templatePath } = (await import(
  path.join(projectRoot, 'dist/server/engine/template.js')
)) as typeof import('../server/engine/template.js');

const ddl = engineTestDdl;
const cacheDir = engineTestCacheDir;
const unit = (sql: string, extra: Partial<EngineUnit> = {}): EngineUnit => ({
  settings: [],
  load: [],
  messages: query(sql),
  ...extra,
});

/** The text values of the DataRows of a reply. */
function textRows(bytes: Buffer): (string | null)[][] {
  const out: (string | null)[][] = [];
  for (let at = 0; at < bytes.length;) {
    const length = bytes.readUInt32BE(at + 1);
    if (bytes[at] === 'D'.charCodeAt(0)) {
      const row: (string | null)[] = [];
      let p = at + 7;
      for (let i = 0; i < bytes.readInt16BE(at + 5); i++) {
        const n = bytes.readInt32BE(p);
        p += 4;
        row.push(n < 0 ? null : bytes.toString('utf8', p, (p += n)));
      }
      out.push(row);
    }
    at += 1 + length;
  }
  return out;
}

/**
 * Resolves once no engine of the pool is restarting, stopping a cancelled statement, or settling (rolling back
 * after a unit whose answer went out).
 */
async function enginesReady(pool: EnginePool): Promise<void> {
  while (pool.stats.perEngine.some((e) => ['starting', 'stopping', 'settling'].includes(e.state)))
    await new Promise((r) => setTimeout(r, 10));
}

let pool: EnginePool;

beforeAll(async () => {
  pool = await EnginePool.start({ ddl, cacheDir, engines: 2 });
}, 120000);

afterAll(async () => {
  await pool?.close();
});

// Each test starts with both engines idle: none still rolling back the previous test's last unit.
beforeEach(() => enginesReady(pool));

test('starts the engines it was asked for, all from the template', async () => {
  expect(pool.size).toBe(2);
  expect(pool.serverVersion).toMatch(/^18\.\d+$/);
  expect(pool.stats.perEngine.map((e) => e.state)).toEqual(['ready', 'ready']);
  await expect(EnginePool.start({ ddl, cacheDir, engines: 0 })).rejects.toThrow(/at least one/);
});

test('a long unit does not hold up a short unit started after it', async () => {
  const settled: string[] = [];
  const long = pool.run(unit('SELECT pg_sleep(2), 1')).then((r) => (settled.push('long'), r));
  const short = pool.run(unit('SELECT 2')).then((r) => (settled.push('short'), r));
  expect(pool.stats).toMatchObject({ busy: 2, queued: 0 });
  expect(textRows(await short)).toEqual([['2']]);
  expect(settled).toEqual(['short']);
  expect(textRows(await long)).toEqual([['', '1']]);
  expect(settled).toEqual(['short', 'long']);
});

test.each([
  ['a sleep', 'SELECT pg_sleep(5)'],
  [
    'a CPU-bound endless statement',
    'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r',
  ],
])(
  'a cancel of %s stops it inside the backend: 57014, no restart, the engine serves at once',
  async (_, sql) => {
    const restartsBefore = pool.stats.restarts;
    const long = unit(sql);
    const running = pool.run(long);
    const other = pool.run(unit('SELECT pg_sleep(0.5), 7'));
    expect(pool.stats).toMatchObject({ busy: 2, queued: 0 });
    await new Promise((r) => setTimeout(r, 200));

    pool.cancel(long);
    await expect(running).rejects.toMatchObject({
      code: '57014',
      message: 'canceling statement due to user request',
    });
    // Both engines serve again without a restart: the next units are answered (two at once, so the cancelled
    // engine takes one of them) while the other engine's unit still runs.
    const served = await Promise.all([1, 2, 3].map((i) => pool.run(unit(`SELECT ${i}`))));
    expect(served.map(textRows)).toEqual([[['1']], [['2']], [['3']]]);
    expect(textRows(await other)).toEqual([['', '7']]);
    expect(pool.stats.restarts).toBe(restartsBefore);
    await enginesReady(pool);
    expect(pool.stats.perEngine.map((e) => e.state)).toEqual(['ready', 'ready']);
    expect(pool.stats.perEngine.reduce((n, e) => n + e.cancels, 0)).toBeGreaterThanOrEqual(1);
  },
);

test('an owner whose units run long leaves one engine free for the others', async () => {
  const looper = [{}, {}];
  const endless = (owner: object) =>
    unit('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r', {
      owner,
      timeoutMs: 100,
    });
  // Both owners' first units run long (a statement timeout each): that marks them.
  await Promise.all(looper.map((o) => expect(pool.run(endless(o))).rejects.toMatchObject({ code: '57014' })));
  await enginesReady(pool);
  // Now both loop again: only one engine takes their units, the other one answers a bystander at once, even
  // though the bystander arrived after both of them.
  const loops = looper.map((o) => pool.run(endless(o)).catch((e: { code: string }) => e.code));
  expect(pool.stats).toMatchObject({ busy: 1, queued: 1 });
  const bystander = pool.run(unit('SELECT 42', { owner: {} }));
  expect(pool.stats).toMatchObject({ busy: 2, queued: 1 });
  expect(textRows(await bystander)).toEqual([['42']]);
  expect(await Promise.all(loops)).toEqual(['57014', '57014']);
  await enginesReady(pool);
});

test('cancel of a queued unit removes just that unit, without a restart', async () => {
  const restartsBefore = pool.stats.restarts;
  const busy = [1, 2].map((i) => pool.run(unit(`SELECT pg_sleep(0.3), ${i}`)));
  const queued = unit('SELECT 3');
  const queuedRun = pool.run(queued);
  const after = pool.run(unit('SELECT 4'));
  expect(pool.stats).toMatchObject({ busy: 2, queued: 2 });
  pool.cancel(queued);
  await expect(queuedRun).rejects.toMatchObject({ code: '57014' });
  expect((await Promise.all(busy)).map(textRows)).toEqual([[['', '1']], [['', '2']]]);
  expect(textRows(await after)).toEqual([['4']]);
  expect(pool.stats.restarts).toBe(restartsBefore);
  // A unit that already settled: nothing to cancel.
  pool.cancel(queued);
});

test('20 concurrent units each get their own rows, settings and result', async () => {
  const runs = Array.from({ length: 20 }, (_, i) =>
    pool.run({
      settings: [['application_name', `unit-${i}`]],
      load: [{ table: 'appflow.t', rows: Array.from({ length: i + 1 }, (_, k) => ({ a: `u${i}`, n: k })) }],
      messages: query(
        `SELECT ${i}, count(*), min(a), max(a), current_setting('application_name'),
           ${i % 3 === 0 ? 'pg_sleep(0.05)' : 'NULL'} FROM appflow.t`,
      ),
    }),
  );
  // Two run at once; the rest wait in one queue for whichever engine is free first.
  expect(pool.stats).toMatchObject({ busy: 2, queued: 18 });
  const results = await Promise.all(runs);
  results.forEach((reply, i) =>
    expect(textRows(reply)).toEqual([
      [String(i), String(i + 1), `u${i}`, `u${i}`, `unit-${i}`, i % 3 === 0 ? '' : null],
    ]),
  );
  expect(pool.stats).toMatchObject({ busy: 0, queued: 0 });
});

test('the engines share one copy of the template, and what they write stays their own', async () => {
  const own = await EnginePool.start({ ddl, cacheDir, engines: 2 });
  // Internals on purpose: the one tar in memory each engine's data dir serves its files from.
  const shared = (own as unknown as { slots: { engine: { shared: SharedArrayBuffer } }[] }).slots.map(
    (s) => s.engine.shared,
  );
  try {
    expect(shared[1]).toBe(shared[0]);
    // Data files written: 6,000 rows loaded then vacuumed (pg_class updated in place), a committed row and a temp
    // table (the engine that ran it restarts from the shared template), every engine's checkpoint at close.
    const rows = Array.from({ length: 6000 }, (_, i) => ({ a: `row ${i}`, n: i }));
    for (let round = 0; round < 2; round++)
      await Promise.all(
        [1, 2].map(() =>
          own.run(unit('SELECT count(*) FROM appflow.t', { load: [{ table: 'appflow.t', rows }] })),
        ),
      );
    await own.run(unit('CREATE TEMP TABLE x (a int); INSERT INTO appflow.t (n) VALUES (1); COMMIT'));
    await enginesReady(own);
    const counts = await Promise.all([1, 2, 3, 4].map(() => own.run(unit('SELECT count(*) FROM appflow.t'))));
    expect(counts.map((c) => textRows(c))).toEqual(Array(4).fill([['0']]));
  } finally {
    await own.close();
  }
  const tar = readFileSync(templatePath(ddl, cacheDir));
  expect(Buffer.from(shared[0]!).equals(tar)).toBe(true);
  // Taken after a clean shutdown: pg_control's state (after two 4-byte fields and the 8-byte system identifier)
  // is DB_SHUTDOWNED (1), so an engine opens it without crash recovery.
  expect(fileInTar(tar, 'global/pg_control').readInt32LE(16)).toBe(1);
}, 60000);

function fileInTar(tar: Buffer, name: string): Buffer {
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0;) {
    const entry = tar
      .toString('latin1', at, at + 100)
      .replace(/\0.*$/s, '')
      .replace(/^\/+/, '');
    const size = parseInt(
      tar
        .toString('latin1', at + 124, at + 136)
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    if (entry === name) return tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} is not in the template`);
}

test('a template found by its key: the DDL is made only to build it, onOpening once every engine opens', async () => {
  const key = `engine-pool test ${process.pid} ${Date.now()}`;
  let made = 0;
  let opened = 0;
  const options = {
    ddl: () => (made++, ddl),
    templateKey: key,
    cacheDir,
    engines: 2,
    onOpening: () => void opened++,
  };
  try {
    await (await EnginePool.start(options)).close();
    expect([made, opened]).toEqual([1, 1]);
    const again = await EnginePool.start(options);
    try {
      expect([made, opened]).toEqual([1, 2]);
      expect(textRows(await again.run(unit('SELECT count(*) FROM appflow.t')))).toEqual([['0']]);
    } finally {
      await again.close();
    }
  } finally {
    rmSync(templatePath(key, cacheDir), { force: true });
  }
}, 120000);

test('close() rejects queued units with 57P01 and lets running ones finish', async () => {
  const running = [1, 2].map((i) => pool.run(unit(`SELECT pg_sleep(0.3), ${i}`)));
  const queued = [3, 4, 5].map((i) => pool.run(unit(`SELECT ${i}`)));
  expect(pool.stats).toMatchObject({ busy: 2, queued: 3 });
  const closing = pool.close();
  for (const q of queued)
    await expect(q).rejects.toMatchObject({
      code: '57P01',
      message: 'terminating connection due to administrator command',
    });
  expect((await Promise.all(running)).map(textRows)).toEqual([[['', '1']], [['', '2']]]);
  await closing;
  await expect(pool.run(unit('SELECT 6'))).rejects.toMatchObject({ code: '57P01' });
  expect(pool.stats.perEngine.map((e) => e.state)).toEqual(['closed', 'closed']);
});
