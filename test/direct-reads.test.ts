import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { BackendFrame } from '../server/wire/backend-parser.js';
import * as frontend from '../server/wire/frontend-serializer.js';
import { runPython } from './compat/harness.js';
import { ByteClient } from './support/byte-client.js';
import { metricsPortOf, sample } from './support/metrics.js';
import { createProfiles, createResources, startStack, TYPE_NAME, type Stack } from './support/stack.js';

// Direct point reads (server/session/direct-read.ts): a SELECT of columns of one resource table by its keys is
// answered by the session from the fetched rows. The answer must be the engine's to the byte: each statement runs
// on a session with aws.direct_reads on and on one with it off, and every frame the client gets is compared, in text,
// binary and mixed result formats, over resources whose properties hold every column type and jsonb's edges.
const region = 'us-east-1';
const gadgetType = 'MyOrg::Test::Gadget';
const gadget = {
  typeName: gadgetType,
  description: 'A private type with a property of each column type',
  properties: {
    Name: { type: 'string' },
    Enabled: { type: 'boolean' },
    Count: { type: 'integer' },
    Ratio: { type: 'number' },
    Doc: { type: 'object' },
    Items: { type: 'array' },
    Anything: {},
    Note: { type: 'string' },
    Secret: { type: 'string' },
    Arn: { type: 'string' },
  },
  additionalProperties: false,
  primaryIdentifier: ['/properties/Name'],
  readOnlyProperties: ['/properties/Arn'],
  writeOnlyProperties: ['/properties/Secret'],
  createOnlyProperties: ['/properties/Name'],
  handlers: {
    create: { permissions: ['myorg:CreateGadget'] },
    read: { permissions: ['myorg:GetGadget'] },
    delete: { permissions: ['myorg:DeleteGadget'] },
    list: { permissions: ['myorg:ListGadgets'] },
  },
};

/** Values whose PostgreSQL output is easy to get wrong: jsonb's key order, escapes, numbers, empties, NULLs. */
const gadgets: Record<string, unknown>[] = [
  {
    Name: 'g-basic',
    Enabled: true,
    Count: 42,
    Ratio: 1.5,
    Doc: { b: 1, aa: 2, a: { z: [], y: {} }, ü: 'é', 'long key': null, B: true, ab: 'x', ba: 'y' },
    Items: [1, 'two', false, null, { k: 'v', kk: [1.25, -3] }],
    Anything: 'just a string',
    Note: 'plain',
    Secret: 'hidden',
  },
  {
    Name: 'g-edges',
    Enabled: false,
    Count: -9007199254740991,
    Ratio: -0.000123,
    Doc: {
      'quote"': 'line\nbreak\ttab\\back/slash\r\b\f',
      ctl: '\u0001\u001f\u007f',
      emoji: '😀',
      日本: '語',
      '': 'empty key',
      dec: 0.1,
      int: 123456789012345680000,
      neg: -5,
      frac: 0.000001,
      zero: 0,
      max: 2 ** 53,
    },
    Items: [],
    Anything: 12.5,
    Note: 'tab\there, ünïcödé 😀, "quoted" \\ \n',
  },
  {
    Name: 'g-empty',
    Enabled: true,
    Count: 0,
    Ratio: 0,
    Doc: {},
    Items: [[], {}, [[]], ''],
    Anything: { nested: { deeper: { deepest: [1, [2, [3, { a: { b: { c: null } } }]]] } } },
    Note: '',
  },
  { Name: 'g-nulls' },
  {
    // Output the session does not reproduce (exponents, a bigint past 2^53): these go to the engine.
    Name: 'g-exponents',
    Count: 2 ** 53 + 4,
    Ratio: 1e21,
    Doc: { big: 1e21, small: 1e-7, tiny: 5e-324 },
    Anything: true,
  },
  { Name: 'g-number', Anything: -0.5, Items: [1e300, -1e-300, 123.456] },
  // numeric's binary form: base-10000 groups around the point, zeros stripped, the scale as written.
  ...[12345678.9, 0.1, 100, 10000, 1e20, -42, 0.00001, 99990000.00001, -1234.5678, 5].map((Ratio, i) => ({
    Name: `g-ratio-${i}`,
    Ratio,
  })),
];

const profiles = [
  {
    ConnectorProfileName: 'dr-sales',
    ConnectorType: 'Salesforce',
    ConnectionMode: 'Public' as const,
    ConnectorLabel: 'sales label',
  },
  { ConnectorProfileName: 'dr-plain', ConnectorType: 'Snowflake', ConnectionMode: 'Private' as const },
];

const dir = mkdtempSync(path.join(tmpdir(), 'direct-reads-'));
const schemaFile = path.join(dir, 'gadget.json');
writeFileSync(schemaFile, JSON.stringify(gadget));

let stack: Stack;
let metricsPort: number;

beforeAll(async () => {
  stack = await startStack({
    regions: [region, 'eu-west-1'],
    emulatorArgs: ['--register-type', schemaFile],
    bridgeArgs: ['--types', TYPE_NAME, '--extra-types', schemaFile, '--metrics-port', '0'],
  });
  metricsPort = await metricsPortOf(stack.bridge.output);
  await createResources(stack.sdk(region), gadgetType, gadgets);
  await createProfiles(stack.sdk(region), profiles);
}, 240_000);
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Engine units run and direct reads answered so far, from /metrics. */
async function counts(): Promise<{ units: number; answered: number; engine: number }> {
  const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return {
    units: sample(body, 'aws_sql_bridge_engine_queue_wait_seconds_count'),
    answered: sample(body, 'aws_sql_bridge_direct_reads_total', { outcome: 'answered' }),
    engine: sample(body, 'aws_sql_bridge_direct_reads_total', { outcome: 'engine' }),
  };
}

async function byteSession(directReads: 'on' | 'off'): Promise<ByteClient> {
  const c = await ByteClient.connect(stack.pg.port);
  c.query(`SET aws.direct_reads = ${directReads}`);
  await c.until('Z');
  return c;
}

/** Every frame of one extended-protocol run, from ParseComplete to ReadyForQuery. */
async function extended(
  c: ByteClient,
  sql: string,
  params: string[],
  resultFormats: number[],
): Promise<BackendFrame[]> {
  c.send(
    frontend.parse({ statement: '', sql, paramTypes: [] }),
    frontend.bind({ portal: '', statement: '', paramFormats: [], params, resultFormats }),
    frontend.describe('P'),
    frontend.execute(),
    frontend.sync(),
  );
  return c.until('Z');
}

async function simple(c: ByteClient, sql: string): Promise<BackendFrame[]> {
  c.query(sql);
  return c.until('Z');
}

const hex = (frames: BackendFrame[]) => frames.map((f) => `${f.code} ${f.raw.toString('hex')}`);

/** The number of columns of the RowDescription among the frames. */
function columnCount(frames: BackendFrame[]): number {
  const t = frames.find((f) => f.code === 'T');
  return t ? t.payload.readInt16BE(0) : 0;
}

const gadgetReads: { sql: string; params: (id: string) => string[] }[] = [
  {
    sql: 'SELECT * FROM test.gadget WHERE region = $1 AND data__identifier = $2',
    params: (id) => [region, id],
  },
  { sql: 'SELECT g.* FROM test.gadget AS g WHERE g.data__identifier = $1', params: (id) => [id] },
  {
    sql: `SELECT name AS n, doc, items, "count", ratio, enabled, anything, note, secret, arn, test.gadget.region
      FROM test.gadget WHERE data__identifier = $1 AND 'us-east-1' = region AND region = $2`,
    params: (id) => [id, region],
  },
  {
    sql: `SELECT * FROM test.gadgets WHERE region = 'us-east-1' AND data__identifier = $1`,
    params: (id) => [id],
  },
  {
    sql: 'SELECT * FROM cloud_control.resources WHERE type_name = $1 AND identifier = $2 AND region = $3',
    params: (id) => [gadgetType, id, region],
  },
  {
    sql: `SELECT r.properties AS model, r.identifier FROM cloud_control.resources r
      WHERE r.type_name = '${gadgetType}' AND r.identifier = $1`,
    params: (id) => [id],
  },
];

describe('direct point reads', () => {
  it('answer with the engine’s own frames, in text, binary and mixed formats', async () => {
    const on = await byteSession('on');
    const off = await byteSession('off');
    const before = await counts();
    try {
      const ids = [...gadgets.map((g) => String(g.Name)), 'g-missing'];
      let compared = 0;
      for (const read of gadgetReads)
        for (const id of ids) {
          const text = await extended(off, read.sql, read.params(id), []);
          const n = columnCount(text);
          const mixed = Array.from({ length: n }, (_, i) => i % 2);
          for (const formats of [[], [0], [1], mixed]) {
            const expected = await extended(off, read.sql, read.params(id), formats);
            const got = await extended(on, read.sql, read.params(id), formats);
            expect({ id, sql: read.sql, formats, frames: hex(got) }).toEqual({
              id,
              sql: read.sql,
              formats,
              frames: hex(expected),
            });
            compared++;
          }
        }
      // The same by simple Query, literals in the WHERE.
      for (const id of ids) {
        const sql = `SELECT * FROM test.gadget WHERE data__identifier = '${id}' AND region = '${region}'`;
        expect(hex(await simple(on, sql))).toEqual(hex(await simple(off, sql)));
      }
      const after = await counts();
      expect(compared).toBe(gadgetReads.length * ids.length * 4);
      // Most were answered directly; the values it does not reproduce (exponents, numeric in binary) went to the engine.
      expect(after.answered - before.answered).toBeGreaterThan(compared / 2);
      expect(after.engine - before.engine).toBeGreaterThan(0);
    } finally {
      on.close();
      off.close();
    }
  }, 120_000);

  it('gives node-postgres the same fields and values in text and binary, connector profiles included', async () => {
    const clients = await Promise.all(['on', 'off'].map(connectPg));
    const [on, off] = clients as [pg.Client, pg.Client];
    try {
      const reads = [
        ...gadgetReads.map((r) => ({ ...r, ids: gadgets.map((g) => String(g.Name)) })),
        {
          sql: 'SELECT * FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2',
          params: (id: string) => [region, id],
          ids: profiles.map((p) => p.ConnectorProfileName),
        },
      ];
      for (const read of reads)
        for (const id of read.ids)
          for (const binary of [false, true]) {
            const run = (c: pg.Client) =>
              // `binary` asks for every result column in binary (node-postgres has it; its types do not).
              c.query({ text: read.sql, values: read.params(id), binary, types: rawTypes } as pg.QueryConfig);
            const [got, expected] = [await run(on), await run(off)];
            expect(got.fields).toEqual(expected.fields);
            expect(got.rows).toEqual(expected.rows);
            expect(got.command).toBe('SELECT');
            expect(got.rowCount).toBe(expected.rowCount);
          }
      // Values parsed as node-postgres does by default: the jsonb object, a NULL write-only column.
      const { rows } = await on.query(
        'SELECT doc, secret, enabled, count FROM test.gadget WHERE data__identifier = $1',
        ['g-basic'],
      );
      expect(rows).toEqual([{ doc: gadgets[0]!.Doc, secret: null, enabled: true, count: '42' }]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  }, 120_000);

  it('runs no engine unit for a direct read, and one for each shape that is not one', async () => {
    const c = await connectPg('on');
    try {
      const read = (sql: string, values: string[]) => c.query(sql, values);
      const direct = 'SELECT name, doc FROM test.gadget WHERE data__identifier = $1 AND region = $2';
      // The first run describes the statement without its WHERE (one unit); the session keeps the description.
      const anyType =
        'SELECT identifier, properties FROM cloud_control.resources WHERE type_name = $1 AND identifier = $2';
      await read(direct, ['g-basic', region]);
      await read(anyType, [gadgetType, 'g-basic']);
      const before = await counts();
      for (const id of ['g-basic', 'g-edges', 'g-empty', 'g-nulls']) {
        await read(direct, [id, region]);
        await read(anyType, [gadgetType, id]);
      }
      const after = await counts();
      expect(after.units - before.units).toBe(0);
      expect(after.answered - before.answered).toBe(8);

      const notDirect: [string, string[]][] = [
        ['SELECT upper(name) FROM test.gadget WHERE data__identifier = $1', ['g-basic']],
        ['SELECT name FROM test.gadget WHERE data__identifier = $1 ORDER BY name', ['g-basic']],
        ['SELECT name FROM test.gadget WHERE data__identifier = $1 LIMIT 1', ['g-basic']],
        ['SELECT DISTINCT name FROM test.gadget WHERE data__identifier = $1', ['g-basic']],
        ['SELECT name FROM test.gadget WHERE data__identifier = $1::text', ['g-basic']],
        ['SELECT name FROM test.gadget WHERE data__identifier = $1 OR region = $2', ['g-basic', region]],
        ['SELECT name FROM test.gadget WHERE lower(data__identifier) = $1', ['g-basic']],
        ['SELECT name FROM test.gadget WHERE note = $1 AND data__identifier = $2', ['plain', 'g-basic']],
        ['WITH x AS (SELECT 1) SELECT name FROM test.gadget WHERE data__identifier = $1', ['g-basic']],
        ['SELECT name, 1 FROM test.gadget WHERE data__identifier = $1', ['g-basic']],
        ['SELECT name FROM test.gadget WHERE data__identifier = $1 FOR UPDATE', ['g-basic']],
      ];
      for (const [sql, values] of notDirect) {
        const b = await counts();
        await read(sql, values).catch(() => undefined);
        const a = await counts();
        expect({ sql, answered: a.answered - b.answered }).toEqual({ sql, answered: 0 });
        expect(a.units - b.units).toBeGreaterThan(0);
      }

      // In a transaction block, and with the setting off: the engine.
      await c.query('BEGIN');
      let b = await counts();
      await read(direct, ['g-basic', region]);
      let a = await counts();
      await c.query('COMMIT');
      expect(a.answered - b.answered).toBe(0);
      expect(a.units - b.units).toBeGreaterThan(0);

      expect((await c.query('SHOW aws.direct_reads')).rows).toEqual([{ 'aws.direct_reads': 'on' }]);
      await c.query('SET aws.direct_reads = off');
      expect((await c.query('SHOW aws.direct_reads')).rows).toEqual([{ 'aws.direct_reads': 'off' }]);
      b = await counts();
      await read(direct, ['g-basic', region]);
      a = await counts();
      expect(a.answered - b.answered).toBe(0);
      expect(a.units - b.units).toBeGreaterThan(0);
      await c.query('RESET aws.direct_reads');
      expect((await c.query('SHOW aws.direct_reads')).rows).toEqual([{ 'aws.direct_reads': 'on' }]);
      await expect(c.query('SET aws.direct_reads = maybe')).rejects.toThrow(
        'parameter "aws.direct_reads" requires a Boolean value',
      );
    } finally {
      await c.end();
    }
  }, 120_000);

  it('gives asyncpg (binary parameters and results) the same columns and values', async () => {
    const reads = [
      ...gadgets.map((g) => ({
        sql: 'SELECT * FROM test.gadget WHERE region = $1 AND data__identifier = $2',
        args: [region, g.Name],
      })),
      ...gadgets.map((g) => ({
        sql: 'SELECT name, enabled, "count", doc, items, note FROM test.gadget WHERE data__identifier = $1',
        args: [g.Name],
      })),
      ...profiles.map((p) => ({
        sql: 'SELECT * FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2',
        args: [region, p.ConnectorProfileName],
      })),
    ];
    const env = {
      PGHOST: '127.0.0.1',
      PGPORT: String(stack.pg.port),
      PGUSER: 'postgres',
      PGDATABASE: 'aws',
    };
    const run = (setting: string) =>
      runPython<unknown[]>('asyncpg_direct_reads_client.py', env, [setting, JSON.stringify(reads)]);
    const before = await counts();
    const on = await run('on');
    const after = await counts();
    const off = await run('off');
    expect(on).toEqual(off);
    expect(on).toHaveLength(reads.length);
    expect(JSON.stringify(on)).not.toContain('"error"');
    expect(after.answered - before.answered).toBeGreaterThan(reads.length / 2);
  }, 120_000);

  it('reports Cloud Control errors and SQL errors as the engine path does', async () => {
    const on = await byteSession('on');
    const off = await byteSession('off');
    try {
      const cases: [string, string[]][] = [
        // No such column in the WHERE: the engine's error, position included.
        ['SELECT name FROM test.gadget WHERE nosuch = $1', ['x']],
        ['SELECT nosuch FROM test.gadget WHERE data__identifier = $1', ['x']],
        // An identifier Cloud Control refuses (the emulator validates it).
        [
          'SELECT * FROM test.gadget WHERE data__identifier = $1 AND region = $2',
          ['g-basic', 'xx-nowhere-1'],
        ],
        // Parameter count not the statement's.
        ['SELECT * FROM test.gadget WHERE data__identifier = $1', ['g-basic', 'extra']],
      ];
      for (const [sql, params] of cases)
        expect({ sql, frames: hex(await extended(on, sql, params, [])) }).toEqual({
          sql,
          frames: hex(await extended(off, sql, params, [])),
        });

      // statement_timeout stops the GetResource of a direct read as it stops the engine path's.
      const read = 'SELECT * FROM test.gadget WHERE data__identifier = $1 AND region = $2';
      await stack.setFaults({ latencyMs: { GetResource: 3000 } });
      try {
        for (const c of [on, off]) await simple(c, "SET statement_timeout = '200ms'");
        const timedOut = await extended(on, read, ['g-basic', region], []);
        expect(hex(timedOut)).toEqual(hex(await extended(off, read, ['g-basic', region], [])));
        expect(timedOut.find((f) => f.code === 'E')?.payload.toString()).toContain(
          'canceling statement due to statement timeout',
        );
      } finally {
        await stack.setFaults({ latencyMs: {} });
        for (const c of [on, off]) await simple(c, 'RESET statement_timeout');
      }
    } finally {
      on.close();
      off.close();
    }
  }, 60_000);

  it('sends its rows in the client encoding, as the engine path does', async () => {
    const on = await byteSession('on');
    const off = await byteSession('off');
    try {
      for (const c of [on, off]) await simple(c, "SET client_encoding = 'LATIN1'");
      // ü and é convert; the emoji of g-edges has no LATIN1 form (22P05 on both paths).
      for (const id of ['g-basic', 'g-edges', 'g-nulls']) {
        const sql = `SELECT name, doc, note FROM test.gadget WHERE data__identifier = '${id}'`;
        const frames = await simple(on, sql);
        expect({ id, frames: hex(frames) }).toEqual({ id, frames: hex(await simple(off, sql)) });
        for (const formats of [[], [1]])
          expect(hex(await extended(on, sql, [], formats))).toEqual(
            hex(await extended(off, sql, [], formats)),
          );
      }
      const basic = await simple(on, `SELECT doc FROM test.gadget WHERE data__identifier = 'g-basic'`);
      // LATIN1 bytes: ü is 0xfc, é 0xe9.
      expect(basic.find((f) => f.code === 'D')?.raw.includes(Buffer.from('"\xfc": "\xe9"', 'latin1'))).toBe(
        true,
      );
    } finally {
      on.close();
      off.close();
    }
  }, 60_000);
});

/** Every value as the server sent it: text as a string, binary as a Buffer. */
const rawTypes = { getTypeParser: () => (value: unknown) => value } as unknown as pg.CustomTypesConfig;

async function connectPg(directReads: string): Promise<pg.Client> {
  const c = new pg.Client(stack.pg);
  await c.connect();
  c.on('notice', () => {});
  await c.query(`SET aws.direct_reads = ${directReads}`);
  return c;
}
