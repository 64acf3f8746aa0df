import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { eventually, jsonLogLines, startBridge, startEmulator, type Started } from './support/processes.js';
import { spawnPsql } from './support/psql.js';
import { RawClient, serialize } from './support/raw-client.js';

/*
 * Issue 8, the engine's part: a closed connection stops its work at once and long work cannot hold every engine
 * (1), connector credentials never reach a file (2), client statements run with least privilege (3), deep
 * nesting answers 54001 (6). (Restart logging, 7, is in test/engine.test.ts.) One emulator and one bridge (default 2 engines)
 * whose temp dir is private, so everything the engine wrote to disk can be searched.
 */

const region = 'us-west-2';
const endless = 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r';
let emulator: Started & { endpoint: string };
let bridge: Started & { port: number };
let tmp: string;
const conn = () => ({ host: '127.0.0.1', port: bridge.port, user: 'postgres', database: 'aws' });

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'engine-hardening-'));
  emulator = await startEmulator(['--completion-delay-ms', '20']);
  bridge = await startBridge(
    // One type: the private TMPDIR holds a template of its own, built here (every type's takes far longer).
    [
      ...['--endpoint', emulator.endpoint, '--region', region, '--cache-ttl-ms', '0', '--log-level', 'debug'],
      ...['--types', 'AWS::AppFlow::ConnectorProfile'],
    ],
    { TMPDIR: tmp },
  );
}, 120000);

afterAll(async () => {
  await bridge?.stop();
  await emulator?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client(conn());
  await c.connect();
  return c;
}

/** The SQLSTATE a statement fails with, or 'ok'. */
async function outcome(c: pg.Client, sql: string): Promise<string> {
  try {
    await c.query(sql);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** Every regular file under dir, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

/**
 * An endless statement that first reads the table: the bridge's log of its ListResources call (at debug) says
 * when the statement has gone on to the engine.
 */
const listingEndless = (inRegion: string) => `WITH RECURSIVE r(n) AS (
    SELECT count(*) FROM appflow.connector_profiles WHERE region = '${inRegion}'
    UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r`;
const listCalls = (from: number) =>
  loggedSince(from, 'cloud control call').filter((l) => l.operation === 'ListResources').length;

/** The bridge's log lines since `from` (an offset in its output) with a given msg. */
const loggedSince = (from: number, msg: string) => jsonLogLines(bridge.output().slice(from), msg);

describe('1. a closed connection stops its work; long work cannot hold every engine', () => {
  test('two clients killed in endless statements: a third client is answered at once', async () => {
    const before = bridge.output().length;
    // One plain statement, one multi-statement Query: neither may go on once its client is gone (in two
    // regions: the same read at once would be one shared call).
    const clients = [
      spawnPsql(conn(), [listingEndless(region)]),
      spawnPsql(conn(), [`${listingEndless('eu-west-1')}; ${endless}; ${endless}`]),
    ];
    // Both fetches answered: nothing is left between them and the engines but the bridge's own code.
    await eventually('both statements reach the engines', () => listCalls(before) === 2);
    for (const c of clients) c.kill('SIGKILL');
    const killed = Date.now();
    const c = await client();
    try {
      // Without the cancel on close both engines would run the endless statements for ever: no answer at all.
      const answer = await Promise.race([
        c.query('SELECT 1 AS one').then((r) => r.rows),
        new Promise((r) => setTimeout(() => r('no answer'), 10000)),
      ]);
      expect(answer).toEqual([{ one: 1 }]);
      // The bound is 1 s; the margin is for a loaded machine.
      expect(Date.now() - killed).toBeLessThan(5000);
    } finally {
      await c.end();
    }
    // The backend stopped the statements itself: no engine restarted for it.
    expect(bridge.output().slice(before)).not.toMatch(/restarting its worker/);
  }, 30000);

  test('messages the client sent before it went away do not run after it is gone', async () => {
    const raw = await RawClient.connect(bridge.port);
    const before = bridge.output().length;
    // An endless Query, then a pipelined INSERT: once the socket closes, the cancel ends the first, and the
    // INSERT, already received, must not run for nobody (it would create an AWS resource).
    raw.send(
      serialize.query(listingEndless(region)),
      serialize.parse({
        text: `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode)
                 VALUES ('${region}', 'after-close', 'Zendesk', 'Public')`,
      }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
    );
    await eventually('the endless statement reaches the engine', () => listCalls(before) === 1);
    raw.socket.destroy();
    // Once the session has ended, nothing more of it can run.
    await eventually('the session ends', () =>
      loggedSince(before, 'disconnected').some((l) => l.session === raw.processId),
    );
    // Its one statement was cancelled; the INSERT never ran.
    const ran = loggedSince(before, 'statement')
      .concat(loggedSince(before, 'statement failed'))
      .filter((l) => l.session === raw.processId);
    expect(ran).toEqual([expect.objectContaining({ kind: 'select', code: '57014' })]);
    const c = await client();
    try {
      const r = await c.query(
        `SELECT count(*)::int AS n FROM appflow.connector_profiles
          WHERE region = $1 AND connector_profile_name = 'after-close'`,
        [region],
      );
      expect(r.rows).toEqual([{ n: 0 }]);
    } finally {
      await c.end();
    }
  }, 30000);

  test('two clients looping on statement_timeout: a bystander never waits behind them', async () => {
    const loopers = await Promise.all([client(), client()]);
    const bystander = await client();
    const before = bridge.output().length;
    let looping = true;
    // A long timeout, so that waiting behind a looper stands far apart from what a loaded machine adds to a
    // short statement (tens of ms, a few hundred at worst): waiting for the first of two engines to free up
    // takes seconds (up to the whole 8 s when the loopers are in step, a median of 2.3 s when they are not).
    const timeoutMs = 8000;
    const loops = loopers.map(async (c) => {
      await c.query(`SET statement_timeout = ${timeoutMs}`);
      let timeouts = 0;
      while (looping) {
        expect(await outcome(c, endless)).toBe('57014');
        timeouts++;
      }
      return timeouts;
    });
    try {
      // Each looper's first statement shows the pool it runs long work.
      await eventually(
        'both loopers timed out once',
        () => loggedSince(before, 'statement failed').filter((l) => l.code === '57014').length >= 2,
      );
      const times: number[] = [];
      // 15 samples, or what 20 s allow: waiting seconds for each fails on the median, not on the test's timeout.
      const sampling = Date.now() + 20000;
      while (times.length < 15 && Date.now() < sampling) {
        const t = performance.now();
        await bystander.query('SELECT 1');
        times.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
      times.sort((a, b) => a - b);
      // Formerly each timeout restarted an engine (the issue measured a 2.5 s p50); then the bystander would wait
      // for the first engine to free up (above). Now one engine stays free for it.
      expect(times[times.length >> 1]).toBeLessThan(1000);
    } finally {
      looping = false;
      const timeouts = await Promise.all(loops);
      expect(timeouts.every((n) => n > 0)).toBe(true);
      await Promise.all([...loopers, bystander].map((c) => c.end()));
    }
    expect(bridge.output().slice(before)).not.toMatch(/restarting its worker/);
  }, 90000);
});

describe('2. connector credentials never reach a file', () => {
  const secrets = ['dd-api-key-6f1e9c2b7a', 'dd-app-key-93b7d0e4c1', 'dd-api-key-rotated-5c8a2f'];

  test('after INSERT and UPDATE with credentials, nothing the bridge wrote holds them; no session reads them', async () => {
    const c = await client();
    try {
      const config = (api: string, app: string) =>
        JSON.stringify({
          ConnectorProfileProperties: { Datadog: { InstanceUrl: 'https://api.datadoghq.com' } },
          ConnectorProfileCredentials: { Datadog: { ApiKey: api, ApplicationKey: app } },
        });
      await c.query(
        `INSERT INTO appflow.connector_profiles
           (region, connector_profile_name, connector_type, connection_mode, connector_profile_config)
         VALUES ($1, 'secret-1', 'Datadog', 'Public', $2)`,
        [region, config(secrets[0]!, secrets[1]!)],
      );
      const updated = await c.query(
        `UPDATE appflow.connector_profile SET connector_profile_config = $3
          WHERE region = $1 AND data__identifier = $2`,
        [region, 'secret-1', config(secrets[2]!, secrets[1]!)],
      );
      expect(updated.rowCount).toBe(1);
      // Statements that would have read the engine's files (its WAL, its table files) from another session.
      const other = await client();
      try {
        for (const sql of [
          'CHECKPOINT',
          "SELECT pg_read_binary_file('pg_wal/000000010000000000000001')",
          "SELECT pg_ls_dir('base')",
          "SELECT pg_stat_file('PG_VERSION')",
        ])
          expect([sql, await outcome(other, sql)]).toEqual([sql, '42501']);
        const read = await other.query(
          `SELECT connector_profile_config::text AS config FROM appflow.connector_profile
            WHERE region = $1 AND data__identifier = 'secret-1'`,
          [region],
        );
        // The profile is there, its write-only config read as NULL (AWS never returns it).
        expect(read.rows).toEqual([{ config: null }]);
      } finally {
        await other.end();
      }
    } finally {
      await c.end();
    }
    const files = filesUnder(tmp);
    const holding = files.filter((f) => {
      const text = readFileSync(f).toString('latin1');
      return secrets.some((s) => text.includes(s));
    });
    expect(holding).toEqual([]);
    // What there is on disk is the template (no rows in it), not a data dir per engine.
    expect(files.map((f) => path.relative(tmp, f))).toEqual([
      expect.stringMatching(/^aws-sql-bridge-engine\/[0-9a-f]{24}\.tar$/),
    ]);
    expect(statSync(files[0]!).size).toBeLessThan(32 * 1024 * 1024);
  }, 60000);
});

describe('3. client statements run with least privilege', () => {
  let c: pg.Client;
  beforeAll(async () => (c = await client()));
  afterAll(() => c?.end());

  test.each([
    ["DO $$BEGIN EXECUTE 'COPY (SELECT 1) TO ''/tmp/engine-hardening-out'''; END$$"],
    ["SELECT pg_read_file('PG_VERSION')"],
    ["SELECT pg_read_binary_file('/dev/blob')"],
    ["SELECT pg_ls_dir('.')"],
    ["SELECT lo_import('/etc/hostname')"],
    ["SELECT lo_export(lo_create(0), '/tmp/engine-hardening-lo')"],
    ['CHECKPOINT'],
    ["SELECT pg_create_physical_replication_slot('s')"],
    ["SELECT pg_create_logical_replication_slot('s', 'test_decoding')"],
    // The engine's own backend (pg_backend_pid() answers the session's BackendKeyData pid instead).
    ['SELECT pg_terminate_backend(pg_stat_get_backend_pid(s)) FROM pg_stat_get_backend_idset() s'],
    ["SET log_statement = 'all'"],
    ['RESET ROLE'],
    ['SET ROLE postgres'],
    ['SET SESSION AUTHORIZATION postgres'],
    ["SELECT set_config('role', 'postgres', false)"],
    ["DO $$BEGIN EXECUTE 'RESET SESSION AUTHORIZATION'; END$$"],
  ])('%s: 42501', async (sql) => {
    expect(await outcome(c, sql)).toBe('42501');
    // The connection goes on, as the unprivileged role.
    const r = await c.query(
      "SELECT current_user = session_user AS same, current_setting('is_superuser') AS su, 1 AS one",
    );
    expect(r.rows).toEqual([{ same: true, su: 'off', one: 1 }]);
  });

  test('advisory locks do not outlive the statement, nor reach another session', async () => {
    expect((await c.query('SELECT pg_advisory_lock(8)')).rowCount).toBe(1);
    const other = await client();
    try {
      const r = await other.query(
        "SELECT pg_try_advisory_lock(8) AS got, (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')::int AS held",
      );
      expect(r.rows).toEqual([{ got: true, held: 1 }]);
      expect(
        (await c.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'")).rows,
      ).toEqual([{ n: 0 }]);
    } finally {
      await other.end();
    }
  });

  test('catalog tables, ordinary functions and PL/pgSQL still work', async () => {
    const r = await c.query(
      `SELECT (SELECT count(*) FROM pg_class WHERE relname = 'connector_profile')::int AS tables,
              upper('x') AS f, jsonb_build_object('a', 1)->>'a' AS j`,
    );
    expect(r.rows).toEqual([{ tables: 1, f: 'X', j: '1' }]);
    // PL/pgSQL, a library the backend loads at run time into its (shared) memory.
    expect(await outcome(c, "DO $$BEGIN PERFORM upper('x'); END$$")).toBe('ok');
  });
});

describe('6. deep nesting answers 54001, and the engine carries on', () => {
  test('jsonb nested 100,000 deep', async () => {
    const before = bridge.output().length;
    const c = await client();
    try {
      expect(await outcome(c, "SELECT (repeat('[', 100000) || repeat(']', 100000))::jsonb IS NOT NULL")).toBe(
        '54001',
      );
      expect(
        await outcome(c, `SELECT (repeat('{"a":', 100000) || '1' || repeat('}', 100000))::jsonb IS NOT NULL`),
      ).toBe('54001');
      expect((await c.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await c.end();
    }
    expect(bridge.output().slice(before)).not.toMatch(/restarting its worker/);
  }, 60000);

  test('2,000 nested subqueries: an answer or 54001, never XX000, through the bridge parser too', async () => {
    const c = await client();
    try {
      const nested = (n: number) => `SELECT ${'(SELECT '.repeat(n)}1${')'.repeat(n)} AS v`;
      for (const n of [2000, 10000]) {
        const code = await c.query(nested(n)).then(
          (r) => (r.rows[0]?.v === 1 ? 'ok' : 'wrong'),
          (err: { code?: string }) => err.code,
        );
        // PostgreSQL's own limits: the stack (54001) or the parser's stack (42601 "memory exhausted").
        expect([n, ['ok', '54001', '42601']]).toEqual([n, expect.arrayContaining([code])]);
      }
      expect((await c.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    } finally {
      await c.end();
    }
  }, 60000);
});
