import path from 'node:path';
import { engineTestCacheDir, engineTestDdl } from './support/engine-fixture.js';
import { projectRoot } from './support/processes.js';

type EngineModule = typeof import('../server/engine/engine.js');
type Engine = import('../server/engine/engine.js').Engine;

// The engine spawns its worker from dist/ (ts-jest cannot load a worker from TS sources): build first.
const { Engine } = (await import(path.join(projectRoot, 'dist/server/engine/engine.js'))) as EngineModule;
const metrics = (await import(
  path.join(projectRoot, 'dist/server/metrics.js')
)) as typeof import('../server/metrics.js');
/** aws_sql_bridge_engine_restarts_total for one reason, as /metrics would show it. */
const restartsCounted = async (reason: string) =>
  (await metrics.engineRestarts.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

const ddl = engineTestDdl;

// Frontend messages, just the few these tests send.
function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string) => Buffer.from(`${s}\0`);
const i16 = (...ns: number[]) => Buffer.concat(ns.map((n) => Buffer.from([(n >> 8) & 0xff, n & 0xff])));
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const query = (sql: string) => message('Q', cstr(sql));
const parseMsg = (name: string, sql: string) => message('P', cstr(name), cstr(sql), i16(0));
const bind = (portal: string, stmt: string, params: string[], resultFormats: number[]) =>
  message(
    'B',
    cstr(portal),
    cstr(stmt),
    i16(0),
    i16(params.length),
    ...params.flatMap((p) => [i32(Buffer.byteLength(p)), Buffer.from(p)]),
    i16(resultFormats.length),
    i16(...resultFormats),
  );
const describePortal = (portal: string) => message('D', Buffer.from('P'), cstr(portal));
const execute = (portal: string) => message('E', cstr(portal), i32(0));
const sync = () => message('S');

// Backend replies, split into frames.
interface Frame {
  type: string;
  body: Buffer;
}
function frames(bytes: Buffer): Frame[] {
  const out: Frame[] = [];
  for (let at = 0; at < bytes.length;) {
    const length = bytes.readUInt32BE(at + 1);
    out.push({ type: String.fromCharCode(bytes[at]), body: bytes.subarray(at + 5, at + 1 + length) });
    at += 1 + length;
  }
  return out;
}
function dataRows(bytes: Buffer): (Buffer | null)[][] {
  return frames(bytes)
    .filter((f) => f.type === 'D')
    .map(({ body }) => {
      const values: (Buffer | null)[] = [];
      let at = 2;
      for (let i = 0; i < body.readInt16BE(0); i++) {
        const length = body.readInt32BE(at);
        at += 4;
        values.push(length < 0 ? null : body.subarray(at, (at += length)));
      }
      return values;
    });
}
const textRows = (bytes: Buffer) =>
  dataRows(bytes).map((r) => r.map((v) => (v === null ? null : v.toString())));
function errorFields(bytes: Buffer): Record<string, string> | undefined {
  const f = frames(bytes).find((x) => x.type === 'E');
  if (!f) return undefined;
  const fields: Record<string, string> = {};
  for (const part of f.body.toString().split('\0').filter(Boolean)) fields[part[0]] = part.slice(1);
  return fields;
}
const readyStatus = (bytes: Buffer) => {
  const all = frames(bytes);
  const last = all[all.length - 1];
  return last.type === 'Z' ? String.fromCharCode(last.body[0]) : undefined;
};

const rows = [
  { a: 'alpha', j: { Arn: 'arn:1', Tags: [{ Key: 'k', Value: 'v' }] }, n: 1 },
  { a: 'beta', j: { Arn: 'arn:2' }, n: 2 },
];

let engine: Engine;

beforeAll(async () => {
  engine = await Engine.start({ ddl, cacheDir: engineTestCacheDir });
}, 120000);

afterAll(async () => {
  await engine?.close();
});

test('reports the server version for ParameterStatus', () => {
  expect(engine.serverVersion).toMatch(/^18\.\d+$/);
});

test('evaluates a query over the loaded rows', async () => {
  const reply = await engine.run({
    settings: [],
    load: [{ table: 'appflow.t', rows }],
    messages: query("SELECT a, j->>'Arn', j->'Tags'->0->>'Key', n FROM appflow.t ORDER BY a"),
  });
  expect(textRows(reply)).toEqual([
    ['alpha', 'arn:1', 'k', '1'],
    ['beta', 'arn:2', null, '2'],
  ]);
  expect(readyStatus(reply)).toBe('T');
  // Only the answer to the messages: no trace of the unit's own BEGIN, INSERT or ROLLBACK.
  expect(frames(reply).map((f) => f.type)).toEqual(['T', 'D', 'D', 'C', 'Z']);
});

test('applies the settings for the unit', async () => {
  const reply = await engine.run({
    settings: [
      ['DateStyle', 'German'],
      ['application_name', 'psql "quoted" \\ back'],
    ],
    load: [],
    messages: query("SELECT '2024-01-02'::date, current_setting('application_name')"),
  });
  expect(textRows(reply)).toEqual([['02.01.2024', 'psql "quoted" \\ back']]);
});

test('units do not see the rows, settings or SETs of an earlier unit', async () => {
  const probe = {
    settings: [],
    load: [],
    messages: query(
      `SELECT count(*), current_setting('DateStyle'), current_setting('search_path'), current_setting('TimeZone'),
        (SELECT count(*) FROM pg_prepared_statements) FROM appflow.t`,
    ),
  };
  const before = textRows(await engine.run(probe));
  expect(before[0][0]).toBe('0');
  await engine.run({
    settings: [['DateStyle', 'German']],
    load: [{ table: 'appflow.t', rows }],
    messages: query("SET search_path = appflow; SET TimeZone = 'Asia/Tokyo'; PREPARE p AS SELECT 1"),
  });
  expect(textRows(await engine.run(probe))).toEqual(before);
});

test('extended protocol with a binary result format gives binary DataRows', async () => {
  const reply = await engine.run({
    settings: [],
    load: [{ table: 'appflow.t', rows }],
    messages: Buffer.concat([
      parseMsg('', 'SELECT n, a FROM appflow.t WHERE a = $1'),
      bind('', '', ['beta'], [1]),
      describePortal(''),
      execute(''),
      sync(),
    ]),
  });
  expect(frames(reply).map((f) => f.type)).toEqual(['1', '2', 'T', 'D', 'C', 'Z']);
  const [[n, a]] = dataRows(reply);
  expect(n).toEqual(Buffer.from([0, 0, 0, 2]));
  expect(a?.toString()).toBe('beta');
});

test('a failing statement answers with an ErrorResponse and the next unit works', async () => {
  const reply = await engine.run({ settings: [], load: [], messages: query('SELECT 1/0') });
  expect(errorFields(reply)).toMatchObject({ C: '22012', M: 'division by zero' });
  expect(readyStatus(reply)).toBe('E');
  const next = await engine.run({ settings: [], load: [], messages: query('SELECT 2') });
  expect(textRows(next)).toEqual([['2']]);
});

test('a bad setting rejects the unit with the backend error', async () => {
  await expect(
    engine.run({ settings: [['DateStyle', 'nonsense']], load: [], messages: query('SELECT 1') }),
  ).rejects.toMatchObject({ code: '22023', message: expect.stringMatching(/DateStyle/) });
  await expect(
    engine.run({ settings: [['no_such_setting', 'x']], load: [], messages: query('SELECT 1') }),
  ).rejects.toMatchObject({ code: '42704' });
  expect(textRows(await engine.run({ settings: [], load: [], messages: query('SELECT 3') }))).toEqual([
    ['3'],
  ]);
});

test('bad rows reject the unit with a PgError', async () => {
  await expect(
    engine.run({
      settings: [],
      load: [{ table: 'appflow.t', rows: [{ n: 'not a number' }] }],
      messages: query('SELECT 1'),
    }),
  ).rejects.toMatchObject({ code: '22P02' });
  await expect(
    engine.run({ settings: [], load: [{ table: 'appflow.nope', rows }], messages: query('SELECT 1') }),
  ).rejects.toMatchObject({ code: '42P01' });
  await expect(
    engine.run({
      settings: [],
      load: [{ table: 'appflow.t', rows: [{ n: 1n }] }],
      messages: query('SELECT 1'),
    }),
  ).rejects.toMatchObject({ code: '22000' });
  expect(
    textRows(await engine.run({ settings: [], load: [], messages: query('SELECT count(*) FROM appflow.t') })),
  ).toEqual([['0']]);
});

test('runs of one repeated row object load as that many rows, in order (load-rows.ts)', async () => {
  const [alpha, beta] = rows;
  // 60 rows, 3 runs: the repeated form; each row object once in the JSON, with jsonb values kept.
  const repeated = [...Array<typeof alpha>(25).fill(alpha!), beta!, ...Array<typeof alpha>(34).fill(alpha!)];
  const reply = await engine.run({
    settings: [],
    load: [{ table: 'appflow.t', rows: repeated }],
    messages: query(
      "SELECT a, j->'Tags'->0->>'Value', n, count(*) OVER (PARTITION BY a) FROM appflow.t ORDER BY ctid",
    ),
  });
  expect(textRows(reply)).toEqual(
    repeated.map((r) => [r.a, r === alpha ? 'v' : null, String(r.n), r === alpha ? '59' : '1']),
  );
  // A bad row fails the load as in the plain form.
  await expect(
    engine.run({
      settings: [],
      load: [{ table: 'appflow.t', rows: Array(40).fill({ n: 'not a number' }) }],
      messages: query('SELECT 1'),
    }),
  ).rejects.toMatchObject({ code: '22P02' });
});

test('UPDATE ... RETURNING old and new values (PostgreSQL 18)', async () => {
  const reply = await engine.run({
    settings: [],
    load: [{ table: 'appflow.t', rows }],
    messages: query("UPDATE appflow.t SET a = 'x' WHERE n = 1 RETURNING old.a, new.a"),
  });
  expect(textRows(reply)).toEqual([['alpha', 'x']]);
});

test('a COMMIT in the messages does not leak rows or settings into the next unit', async () => {
  const reply = await engine.run({
    settings: [['DateStyle', 'German']],
    load: [{ table: 'appflow.t', rows }],
    messages: query("COMMIT; INSERT INTO appflow.t (a) VALUES ('after'); SET DateStyle = 'SQL'"),
  });
  expect(readyStatus(reply)).toBe('I');
  const next = await engine.run({
    settings: [],
    load: [],
    messages: query("SELECT count(*), current_setting('DateStyle') FROM appflow.t"),
  });
  expect(textRows(next)).toEqual([['0', 'ISO, MDY']]);
  expect(engine.stats.restarts).toBeGreaterThanOrEqual(1);
});

test('a unit that loaded no rows and committed a write leaves nothing to the next unit', async () => {
  // No rows loaded: the unit's transaction has no xid until the client's write, or none at all before its COMMIT.
  for (const messages of [
    "INSERT INTO appflow.t (a) VALUES ('own'); COMMIT",
    "COMMIT; INSERT INTO appflow.t (a) VALUES ('after')",
    "SELECT 1; COMMIT; BEGIN; INSERT INTO appflow.t (a) VALUES ('later'); COMMIT",
  ]) {
    const restarts = engine.stats.restarts;
    await engine.run({ settings: [], load: [], messages: query(messages) });
    const next = await engine.run({
      settings: [],
      load: [],
      messages: query('SELECT count(*) FROM appflow.t'),
    });
    expect(textRows(next)).toEqual([['0']]);
    expect(engine.stats.restarts).toBe(restarts + 1);
  }
  // A read-only unit that commits has nothing to leave: no restart.
  const restarts = engine.stats.restarts;
  await engine.run({ settings: [], load: [], messages: query('SELECT 1; COMMIT') });
  await engine.run({ settings: [], load: [], messages: query('SELECT 1') });
  expect(engine.stats.restarts).toBe(restarts);
});

test('a ROLLBACK TO SAVEPOINT in the messages needs no restart', async () => {
  const before = engine.stats.restarts;
  const reply = await engine.run({
    settings: [],
    load: [{ table: 'appflow.t', rows }],
    messages: query(
      "SAVEPOINT s; UPDATE appflow.t SET a = 'y'; ROLLBACK TO SAVEPOINT s; SELECT count(*) FROM appflow.t",
    ),
  });
  expect(textRows(reply)).toEqual([['2']]);
  await engine.run({ settings: [], load: [], messages: query('SELECT 1') });
  expect(engine.stats.restarts).toBe(before);
});

test('the main thread keeps running during a long unit', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 20);
  try {
    await engine.run({ settings: [], load: [], messages: query('SELECT pg_sleep(0.6)') });
  } finally {
    clearInterval(timer);
  }
  expect(ticks).toBeGreaterThanOrEqual(10);
});

test('cancel stops the running unit with 57014 and the engine serves the next unit', async () => {
  const unit = { settings: [], load: [], messages: query('SELECT pg_sleep(5)') };
  const running = engine.run(unit);
  const queued = engine.run({ settings: [], load: [], messages: query('SELECT 4') });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const t0 = performance.now();
  engine.cancel();
  await expect(running).rejects.toMatchObject({
    code: '57014',
    message: 'canceling statement due to user request',
  });
  expect(performance.now() - t0).toBeLessThan(100);
  // The queued unit waits for the fresh worker, then runs.
  expect(textRows(await queued)).toEqual([['4']]);
  expect(performance.now() - t0).toBeLessThan(10000);
});

test('cancel of a queued unit removes just that unit', async () => {
  const first = engine.run({ settings: [], load: [], messages: query('SELECT pg_sleep(0.2), 1') });
  const second = { settings: [], load: [], messages: query('SELECT 2') };
  const secondRun = engine.run(second);
  const before = engine.stats.restarts;
  engine.cancel(second);
  await expect(secondRun).rejects.toMatchObject({ code: '57014' });
  expect(textRows(await first)).toEqual([['', '1']]);
  expect(engine.stats.restarts).toBe(before);
});

test('timeoutMs stands in for statement_timeout, which PGlite does not honour', async () => {
  const t0 = performance.now();
  await expect(
    engine.run({ settings: [], load: [], messages: query('SELECT pg_sleep(5)'), timeoutMs: 200 }),
  ).rejects.toMatchObject({ code: '57014', message: 'canceling statement due to statement timeout' });
  expect(performance.now() - t0).toBeLessThan(2000);
  expect(
    textRows(await engine.run({ settings: [], load: [], messages: query('SELECT 5'), timeoutMs: 5000 })),
  ).toEqual([['5']]);
});

// Enough rows that loading them takes longer than the cancel grace (500 ms) and the timeouts below.
const manyRows = Array.from({ length: 200_000 }, (_, i) => ({ a: `row ${i}`, j: { i }, n: i }));

test('a cancel while the rows load stops the unit without a restart, however long the load takes', async () => {
  const before = engine.stats;
  const unit = {
    settings: [],
    load: [{ table: 'appflow.t', rows: manyRows }],
    messages: query('SELECT count(*) FROM appflow.t'),
  };
  const running = engine.run(unit);
  await new Promise((resolve) => setTimeout(resolve, 50));
  engine.cancel(unit);
  await expect(running).rejects.toMatchObject({ code: '57014' });
  expect(textRows(await engine.run({ settings: [], load: [], messages: query('SELECT 6') }))).toEqual([
    ['6'],
  ]);
  expect(engine.stats.restarts).toBe(before.restarts);
  expect(engine.stats.cancels).toBe(before.cancels + 1);
}, 60000);

test('timeoutMs counts the statement, not the loading of its rows', async () => {
  const t0 = performance.now();
  const reply = await engine.run({
    settings: [],
    load: [{ table: 'appflow.t', rows: manyRows }],
    messages: query('SELECT count(*) FROM appflow.t'),
    timeoutMs: 300,
  });
  expect(performance.now() - t0).toBeGreaterThan(300);
  expect(textRows(reply)).toEqual([['200000']]);
}, 60000);

test('messages without a Sync, and named statements, leave nothing behind', async () => {
  const partial = await engine.run({
    settings: [],
    load: [],
    messages: Buffer.concat([parseMsg('S_1', 'SELECT 1'), parseMsg('', 'SELEC oops')]),
  });
  expect(frames(partial).map((f) => f.type)).toEqual(['1', 'E']);
  const reply = await engine.run({
    settings: [],
    load: [],
    messages: Buffer.concat([parseMsg('S_1', 'SELECT 6'), bind('', 'S_1', [], []), execute(''), sync()]),
  });
  expect(textRows(reply)).toEqual([['6']]);
});

test('a restart is logged with its reason, never with the statement or its rows', async () => {
  const lines: { level: string; fields: object; message: string }[] = [];
  const log = (level: string) => (fields: object, message: string) =>
    void lines.push({ level, fields, message });
  const logged = await Engine.start({
    ddl,
    cacheDir: engineTestCacheDir,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
  });
  try {
    const counted = await restartsCounted('unit committed');
    // A unit that commits leaves state behind, so the engine replaces its worker.
    await logged.run({
      settings: [],
      load: [{ table: 'appflow.t', rows: [{ a: 'secret-row-value' }] }],
      messages: query("COMMIT; SELECT 'marker-in-statement'"),
    });
    while (logged.state !== 'ready') await new Promise((r) => setTimeout(r, 20));
    expect(lines).toEqual(
      expect.arrayContaining([
        {
          level: 'info',
          fields: { reason: 'unit committed', restarts: 1 },
          message: 'engine: restarting its worker',
        },
        { level: 'info', fields: { openMs: expect.any(Number) }, message: 'engine: worker open' },
      ]),
    );
    expect(JSON.stringify(lines)).not.toMatch(/marker-in-statement|secret-row-value/);
    expect(await restartsCounted('unit committed')).toBe(counted + 1);
  } finally {
    await logged.close();
  }
});

describe('plain units (nothing a rollback does not undo): rolled back lazily, before the next unit', () => {
  const probe = (plain: boolean) => ({
    settings: [],
    load: [],
    messages: query(
      `SELECT count(*), current_setting('DateStyle'), (SELECT count(*) FROM pg_prepared_statements) FROM appflow.t`,
    ),
    plain,
  });
  const loaded = (plain: boolean, messages = query('SELECT count(*) FROM appflow.t')) => ({
    settings: [['DateStyle', 'German']] as [string, string][],
    load: [{ table: 'appflow.t', rows }],
    messages,
    plain,
  });

  test('a plain unit ends at its answer, and the next unit, plain or not, sees none of its rows or settings', async () => {
    const restarts = engine.stats.restarts;
    expect(textRows(await engine.run(loaded(true)))).toEqual([['2']]);
    // No settle round trip: the engine takes the next unit at once.
    expect(engine.state).toBe('ready');
    expect(textRows(await engine.run(probe(false)))).toEqual([['0', 'ISO, MDY', '0']]);
    // A unit that is not plain still settles after its answer.
    expect(engine.state).toBe('settling');
    expect(textRows(await engine.run(loaded(true)))).toEqual([['2']]);
    expect(textRows(await engine.run(probe(true)))).toEqual([['0', 'ISO, MDY', '0']]);
    // Not plain (a PREPARE, a SET): cleaned up as before, and a plain unit after it sees none of it.
    await engine.run(loaded(false, query('SET DateStyle = SQL; PREPARE p AS SELECT 1')));
    expect(textRows(await engine.run(probe(true)))).toEqual([['0', 'ISO, MDY', '0']]);
    // Several in a row without waiting: each answer before the next unit is sent.
    const answers = await Promise.all([1, 2, 3].map(() => engine.run(loaded(true))));
    expect(answers.map(textRows)).toEqual([[['2']], [['2']], [['2']]]);
    expect(textRows(await engine.run(probe(true)))).toEqual([['0', 'ISO, MDY', '0']]);
    expect(engine.stats.restarts).toBe(restarts);
  });

  test('an engine left idle after a plain unit rolls it back on its own and keeps house', async () => {
    const restarts = engine.stats.restarts;
    // More than the 20 units after which housekeeping checks the WAL, each left idle then followed by another.
    for (let i = 0; i < 25; i++) {
      expect(textRows(await engine.run(loaded(true)))).toEqual([['2']]);
      if (i % 5 === 0) await new Promise((r) => setTimeout(r, 40));
    }
    await new Promise((r) => setTimeout(r, 40));
    expect(textRows(await engine.run(probe(true)))).toEqual([['0', 'ISO, MDY', '0']]);
    expect(engine.stats.restarts).toBe(restarts);
  });

  test('messages that name a statement or portal are never plain, whatever the caller says', async () => {
    const named = await engine.run({
      settings: [],
      load: [],
      messages: Buffer.concat([
        parseMsg('S_kept', 'SELECT 7'),
        bind('', 'S_kept', [], []),
        execute(''),
        sync(),
      ]),
      plain: true,
    });
    expect(textRows(named)).toEqual([['7']]);
    // A ROLLBACK does not deallocate a prepared statement: the cleanup did.
    expect(engine.state).toBe('settling');
    expect(textRows(await engine.run(probe(true)))).toEqual([['0', 'ISO, MDY', '0']]);
  });

  test('a plain unit cancelled or timed out stops without a restart, and the next one runs clean', async () => {
    const before = engine.stats;
    const long = { ...loaded(true, query('SELECT count(*) FROM generate_series(1, 1000000000)')) };
    const running = engine.run(long);
    await new Promise((resolve) => setTimeout(resolve, 200));
    engine.cancel(long);
    await expect(running).rejects.toMatchObject({ code: '57014' });
    await expect(engine.run({ ...long, timeoutMs: 200 })).rejects.toMatchObject({
      code: '57014',
      message: 'canceling statement due to statement timeout',
    });
    expect(textRows(await engine.run(probe(true)))).toEqual([['0', 'ISO, MDY', '0']]);
    expect(engine.stats.restarts).toBe(before.restarts);
    expect(engine.stats.cancels).toBe(before.cancels + 2);
  });

  test('a restart while a plain unit is still open leaves nothing of it', async () => {
    expect(textRows(await engine.run(loaded(true)))).toEqual([['2']]);
    const restarts = engine.stats.restarts;
    // The next unit commits a write: the engine replaces its worker, open plain unit and all.
    await engine.run({
      settings: [],
      load: [],
      messages: query("COMMIT; INSERT INTO appflow.t (a) VALUES ('x')"),
    });
    expect(textRows(await engine.run(probe(true)))).toEqual([['0', 'ISO, MDY', '0']]);
    expect(engine.stats.restarts).toBe(restarts + 1);
  });

  test('an engine closes with a plain unit still open', async () => {
    const other = await Engine.start({ ddl, cacheDir: engineTestCacheDir });
    try {
      expect(textRows(await other.run(loaded(true)))).toEqual([['2']]);
    } finally {
      await other.close();
    }
    expect(other.state).toBe('closed');
  });
});
