/**
 * The extended-query paths of issue 13 (and issue 8's unknown message and FunctionCall), sent as raw protocol to
 * the bridge and to a real PostgreSQL 15 given the same tables: each expectation is PostgreSQL's own behaviour.
 * A few facts only the bridge has (its tables' rows, BackendKeyData matching, database aliases) are checked on
 * the bridge alone.
 */
import path from 'node:path';
import { names, RawClient, serialize, type Message } from './support/raw-client.js';
import { APPFLOW_DDL } from './support/appflow-ddl.js';
import { psql } from './support/psql.js';
import { createProfiles, startStack, type Stack } from './support/stack.js';
import { startLocalPostgres, type LocalPostgres } from './compat/harness.js';

let stack: Stack;
let pg: LocalPostgres;

beforeAll(async () => {
  [stack, pg] = await Promise.all([startStack({ regions: ['us-east-2'] }), startLocalPostgres()]);
  await createProfiles(stack.sdk('us-east-2'), [
    { ConnectorProfileName: 'c1', ConnectorType: 'Snowflake', ConnectionMode: 'Public' },
  ]);
  const ddl = await pg.psql(APPFLOW_DDL);
  if (ddl.status !== 0) throw new Error(ddl.stderr);
}, 180000);
afterAll(async () => {
  await pg?.stop();
  await stack?.stop();
});

type Target = 'bridge' | 'postgres';
const targets: Target[] = ['bridge', 'postgres'];

function connect(target: Target, params: Record<string, string> = {}): Promise<RawClient> {
  return target === 'bridge'
    ? RawClient.connect(stack.bridge.port, params)
    : RawClient.connect(path.join(pg.dir, `.s.PGSQL.${pg.port}`), { database: 'postgres', ...params });
}

async function query(client: RawClient, sql: string): Promise<Message[]> {
  client.send(serialize.query(sql));
  return client.untilReady();
}
const firstField = (m: Message[]) => (m.find((x) => x.name === 'dataRow')?.fields as string[])[0];

/** FunctionCall ('F'): function OID, no argument formats, no arguments, text result. */
function functionCall(oid: number): Buffer {
  const b = Buffer.alloc(1 + 4 + 4 + 2 + 2 + 2);
  b.write('F', 0);
  b.writeInt32BE(b.length - 1, 1);
  b.writeInt32BE(oid, 5);
  return b;
}

describe.each(targets)('%s', (target) => {
  let client: RawClient;
  beforeEach(async () => {
    client = await connect(target);
  });
  afterEach(() => client.close());

  test('an error at Parse/Describe is sent when the client flushes, before any Sync', async () => {
    client.send(
      serialize.parse({ text: 'SELECT * FROM appflow.no_such_table' }),
      serialize.describe({ type: 'S' }),
      serialize.flush(),
    );
    const [error] = await client.take(1);
    expect(error).toMatchObject({ name: 'error', code: '42P01' });
    client.send(serialize.sync());
    expect(names(await client.untilReady())).toEqual(['readyForQuery']);
  });

  test('an error at Execute is sent when the client flushes, before any Sync', async () => {
    client.send(
      // Not 1/$1: PostgreSQL plans at Bind and folds the constant there, so that error comes at Bind.
      serialize.parse({ text: 'SELECT 1/n FROM generate_series($1::int, 1) AS n' }),
      serialize.bind({ values: ['0'] }),
      serialize.execute(),
      serialize.flush(),
    );
    const m = await client.take(3);
    expect(names(m)).toEqual(['parseComplete', 'bindComplete', 'error']);
    expect(m[2]).toMatchObject({ code: '22012' });
    client.send(serialize.sync());
    expect(names(await client.untilReady())).toEqual(['readyForQuery']);
    expect(firstField(await query(client, 'SELECT 7'))).toBe('7');
  });

  test('Parse of a statement that names an unknown table or column fails at Parse', async () => {
    client.send(
      serialize.parse({ text: 'SELECT no_such_column FROM appflow.connector_profiles' }),
      serialize.bind(),
      serialize.execute(),
      serialize.sync(),
    );
    const m = await client.untilReady();
    expect(names(m)).toEqual(['error', 'readyForQuery']);
    expect(m[0]).toMatchObject({ code: '42703' });
    // The failed Parse dropped the unnamed statement.
    client.send(serialize.bind(), serialize.sync());
    const again = await client.untilReady();
    expect(names(again)).toEqual(['error', 'readyForQuery']);
    expect(again[0]).toMatchObject({ code: '26000' });
  });

  test('Parse analyzes with the search_path of the moment', async () => {
    const parse = async () => {
      client.send(
        serialize.parse({ text: 'SELECT connector_type FROM connector_profiles' }),
        serialize.sync(),
      );
      return names(await client.untilReady());
    };
    await query(client, 'SET search_path = appflow');
    expect(await parse()).toEqual(['parseComplete', 'readyForQuery']);
    await query(client, 'SET search_path = public');
    expect(await parse()).toEqual(['error', 'readyForQuery']);
  });

  test('an error at Parse, or a syntax error, in a transaction block aborts the block', async () => {
    await query(client, 'BEGIN');
    client.send(serialize.parse({ text: 'SELECT * FROM appflow.no_such_table' }), serialize.sync());
    const parsed = await client.untilReady();
    expect(names(parsed)).toEqual(['error', 'readyForQuery']);
    expect(parsed[1]).toMatchObject({ status: 'E' });
    expect((await query(client, 'SELECT 1'))[0]).toMatchObject({ name: 'error', code: '25P02' });
    await query(client, 'ROLLBACK');
    await query(client, 'BEGIN');
    expect((await query(client, 'SELEC 1')).at(-1)).toMatchObject({ status: 'E' });
    expect((await query(client, 'ROLLBACK')).at(-1)).toMatchObject({ status: 'I' });
  });

  test('Describe of INSERT, UPDATE and DELETE with $n gives their parameter types; RETURNING its row', async () => {
    client.send(
      serialize.parse({
        name: 'ins',
        text: 'INSERT INTO appflow.connector_profiles (connector_profile_name, connector_type, connection_mode) VALUES ($1, $2, $3)',
      }),
      serialize.describe({ type: 'S', name: 'ins' }),
      serialize.parse({
        name: 'upd',
        text: 'UPDATE appflow.connector_profile SET connector_label = $1 WHERE region = $2 AND data__identifier = $3 RETURNING data__identifier, connector_label',
      }),
      serialize.describe({ type: 'S', name: 'upd' }),
      serialize.parse({
        name: 'del',
        text: 'DELETE FROM appflow.connector_profiles WHERE data__identifier = $1',
      }),
      serialize.describe({ type: 'S', name: 'del' }),
      serialize.sync(),
    );
    const m = await client.untilReady();
    expect(names(m)).toEqual([
      'parseComplete',
      'parameterDescription',
      'noData',
      'parseComplete',
      'parameterDescription',
      'rowDescription',
      'parseComplete',
      'parameterDescription',
      'noData',
      'readyForQuery',
    ]);
    expect(m[1]).toMatchObject({ dataTypeIDs: [25, 25, 25] });
    expect(m[4]).toMatchObject({ dataTypeIDs: [25, 25, 25] });
    expect((m[5] as unknown as { fields: { name: string }[] }).fields.map((f) => f.name)).toEqual([
      'data__identifier',
      'connector_label',
    ]);
    expect(m[7]).toMatchObject({ dataTypeIDs: [25] });
  });

  test('UNLISTEN * and UNLISTEN of a channel never listened to do nothing', async () => {
    const m = await query(client, 'UNLISTEN *; UNLISTEN some_channel');
    expect(names(m)).toEqual(['commandComplete', 'commandComplete', 'readyForQuery']);
    expect(m.slice(0, 2).map((x) => x.text)).toEqual(['UNLISTEN', 'UNLISTEN']);
    client.send(
      serialize.parse({ text: 'UNLISTEN *' }),
      serialize.bind(),
      serialize.execute(),
      serialize.sync(),
    );
    expect(names(await client.untilReady())).toEqual([
      'parseComplete',
      'bindComplete',
      'commandComplete',
      'readyForQuery',
    ]);
  });

  test('an unknown message type is FATAL 08P01 and the connection closes', async () => {
    client.send(Buffer.from([0x58 + 1, 0, 0, 0, 4])); // 'Y'
    const [fatal] = await client.take(1);
    expect(fatal).toMatchObject({ name: 'error', severity: 'FATAL', code: '08P01' });
    expect(fatal!.message).toBe('invalid frontend message type 89');
    await client.ended();
  });

  test('a FunctionCall is answered at once, with ReadyForQuery and no Sync', async () => {
    // OID 1 is no function: PostgreSQL refuses it; the bridge refuses every FunctionCall.
    client.send(functionCall(1));
    const m = await client.untilReady();
    expect(names(m)).toEqual(['error', 'readyForQuery']);
    expect(m[0]).toMatchObject({ code: target === 'bridge' ? '0A000' : '42883' });
    expect(firstField(await query(client, 'SELECT 1'))).toBe('1');
  });

  test('transaction_read_only is on in BEGIN READ ONLY and after SET TRANSACTION READ ONLY', async () => {
    expect(firstField(await query(client, 'SHOW transaction_read_only'))).toBe('off');
    await query(client, 'BEGIN READ ONLY');
    expect(firstField(await query(client, 'SHOW transaction_read_only'))).toBe('on');
    expect(firstField(await query(client, "SELECT current_setting('transaction_read_only')"))).toBe('on');
    await query(client, 'COMMIT');
    await query(client, 'BEGIN');
    expect(firstField(await query(client, 'SHOW transaction_read_only'))).toBe('off');
    await query(client, 'SET TRANSACTION READ ONLY');
    expect(firstField(await query(client, 'SHOW transaction_read_only'))).toBe('on');
    await query(client, 'ROLLBACK');
    expect(firstField(await query(client, 'SHOW transaction_read_only'))).toBe('off');
  });

  test('pg_backend_pid() is the process id of BackendKeyData', async () => {
    expect(client.processId).toBeGreaterThan(0);
    expect(firstField(await query(client, 'SELECT pg_backend_pid()'))).toBe(String(client.processId));
    // Tools find their own session in pg_stat_activity by it.
    expect(
      firstField(await query(client, 'SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid()')),
    ).toBe('1');
    const other = await connect(target);
    expect(firstField(await query(other, 'SELECT pg_backend_pid()'))).toBe(String(other.processId));
    other.close();
  });

  test('set_config(..., false) lasts for the session, as SET does', async () => {
    await query(client, "SELECT set_config('search_path', '', false)");
    expect(firstField(await query(client, 'SELECT current_schemas(true)'))).toBe('{pg_catalog}');
    expect(firstField(await query(client, 'SHOW search_path'))).toBe('');
    const app = await query(client, "SELECT pg_catalog.set_config('application_name', 'renamed', false)");
    expect(app.find((x) => x.name === 'parameterStatus')).toMatchObject({
      parameterName: 'application_name',
      parameterValue: 'renamed',
    });
    expect(firstField(await query(client, 'SHOW application_name'))).toBe('renamed');
    const set = await query(client, "SET application_name = 'again'");
    expect(set.filter((x) => x.name === 'parameterStatus')).toEqual([
      expect.objectContaining({ parameterName: 'application_name', parameterValue: 'again' }),
    ]);
    // A parameter ($1) names the setting as well as a constant does.
    client.send(
      serialize.parse({ text: 'SELECT set_config($1, $2, false)' }),
      serialize.bind({ values: ['work_mem', '2345kB'] }),
      serialize.execute(),
      serialize.sync(),
    );
    await client.untilReady();
    expect(firstField(await query(client, 'SHOW work_mem'))).toBe('2345kB');
  });

  test('set_config(..., true) lasts until the transaction ends, as SET LOCAL does', async () => {
    // The engines' own default (engine settings), whatever it is.
    const defaultWorkMem = firstField(await query(client, 'SHOW work_mem'));
    await query(client, 'BEGIN');
    await query(client, "SELECT set_config('work_mem', '1234kB', true)");
    expect(firstField(await query(client, 'SHOW work_mem'))).toBe('1234kB');
    await query(client, "SELECT set_config('statement_timeout', '77s', false)");
    await query(client, 'COMMIT');
    expect(firstField(await query(client, 'SHOW work_mem'))).toBe(defaultWorkMem);
    expect(firstField(await query(client, 'SHOW statement_timeout'))).toBe('77s');
    await query(client, 'BEGIN');
    await query(client, "SELECT set_config('statement_timeout', '88s', false)");
    await query(client, 'ROLLBACK');
    expect(firstField(await query(client, 'SHOW statement_timeout'))).toBe('77s');
    // Outside a transaction block a local value ends with its statement.
    await query(client, "SELECT set_config('work_mem', '999kB', true)");
    expect(firstField(await query(client, 'SHOW work_mem'))).toBe(defaultWorkMem);
  });

  test('a portal made by Bind is a cursor by name for MOVE, FETCH and CLOSE', async () => {
    await query(client, 'BEGIN');
    client.send(
      serialize.parse({ text: 'SELECT n FROM generate_series(1, 10) AS n' }),
      serialize.bind({ portal: 'p1' }),
      serialize.execute({ portal: 'p1', rows: 2 }),
      serialize.sync(),
    );
    const first = await client.untilReady();
    expect(first.filter((x) => x.name === 'dataRow').map((x) => (x.fields as string[])[0])).toEqual([
      '1',
      '2',
    ]);
    expect(names(first)).toContain('portalSuspended');
    expect((await query(client, 'MOVE FORWARD 3 p1'))[0]).toMatchObject({ text: 'MOVE 3' });
    client.send(serialize.execute({ portal: 'p1', rows: 2 }), serialize.sync());
    const next = await client.untilReady();
    expect(next.filter((x) => x.name === 'dataRow').map((x) => (x.fields as string[])[0])).toEqual([
      '6',
      '7',
    ]);
    const fetched = await query(client, 'FETCH 2 FROM p1');
    expect(fetched.filter((x) => x.name === 'dataRow').map((x) => (x.fields as string[])[0])).toEqual([
      '8',
      '9',
    ]);
    expect(names(await query(client, 'CLOSE p1'))).toEqual(['commandComplete', 'readyForQuery']);
    client.send(serialize.execute({ portal: 'p1' }), serialize.sync());
    const gone = await client.untilReady();
    expect(gone[0]).toMatchObject({ name: 'error', code: '34000' });
    await query(client, 'ROLLBACK');
  });
});

describe('bridge only', () => {
  test("psql's \\lo_import (a FunctionCall) fails at once with the error, and psql goes on", () => {
    const r = psql(stack.pg, ['\\lo_import /etc/hostname', 'SELECT 1 AS after'], {
      variables: { ON_ERROR_STOP: '0' },
    });
    expect(r.stderr).toContain('the fastpath function call protocol is not supported');
    expect(r.stdout).toContain('after\n1\n');
  });

  test('database postgres serves the same tables as aws, and \\l lists the database they are', async () => {
    const client = await RawClient.connect(stack.bridge.port, { database: 'postgres' });
    const m = await query(
      client,
      "SELECT connector_profile_name FROM appflow.connector_profiles WHERE region = 'us-east-2'",
    );
    expect(firstField(m)).toBe('c1');
    client.close();
    // No database named: PostgreSQL takes the user name, postgres.
    const unnamed = await RawClient.connect(stack.bridge.port, { database: '' });
    expect(firstField(await query(unnamed, 'SELECT 1'))).toBe('1');
    unnamed.close();
    // psql with no dbname, as user postgres: libpq asks for database postgres.
    const { host, port, user } = stack.pg;
    const plain = psql({ host, port, user }, ['SELECT count(*) AS n FROM appflow.connector_profiles']);
    expect(plain.stderr).toBe('');
    expect(plain.stdout).toBe('n\n1\n(1 row)\n');
    const list = psql({ ...stack.pg, database: 'postgres' }, ['\\l']);
    expect(list.stderr).toBe('');
    const databases = list.stdout.split('\n').map((line) => line.split('|')[0]);
    expect(databases).toContain('aws');
  });
});
