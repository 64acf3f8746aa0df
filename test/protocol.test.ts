import net from 'node:net';
import { names, RawClient, serialize } from './support/raw-client.js';
import { createProfiles, startStack, type Stack } from './support/stack.js';

let stack: Stack;
let client: RawClient;

beforeAll(async () => {
  stack = await startStack({ regions: ['us-east-2'] });
  await createProfiles(
    stack.sdk('us-east-2'),
    ['r1', 'r2', 'r3', 'r4', 'r5'].map((n) => ({
      ConnectorProfileName: n,
      ConnectorType: 'Snowflake',
      ConnectionMode: 'Public' as const,
    })),
  );
});
afterAll(() => stack?.stop());
beforeEach(async () => {
  client = await RawClient.connect(stack.bridge.port);
});
afterEach(() => client.close());

const listSql = 'SELECT connector_profile_name FROM appflow.connector_profiles WHERE region = $1 ORDER BY 1';

test('startup reports the parameters clients read, then ReadyForQuery idle', async () => {
  const raw = await RawClient.connect(stack.bridge.port, { application_name: 'raw-test', DateStyle: 'ISO' });
  raw.send(serialize.query('SHOW application_name'));
  const m = await raw.untilReady();
  expect(m.find((x) => x.name === 'dataRow')).toMatchObject({ fields: ['raw-test'] });
  raw.close();
});

test('Parse, Describe statement, Sync: parameter and row descriptions without running anything', async () => {
  client.send(
    serialize.parse({ name: 's1', text: listSql }),
    serialize.describe({ type: 'S', name: 's1' }),
    serialize.sync(),
  );
  const m = await client.untilReady();
  expect(names(m)).toEqual(['parseComplete', 'parameterDescription', 'rowDescription', 'readyForQuery']);
  expect(m[1]).toMatchObject({ dataTypeIDs: [25] });
  expect((m[2] as unknown as { fields: { name: string; dataTypeID: number }[] }).fields).toEqual([
    expect.objectContaining({ name: 'connector_profile_name', dataTypeID: 25 }),
  ]);
});

test('Execute with a row limit suspends the portal and resumes it', async () => {
  client.send(
    serialize.parse({ text: listSql }),
    serialize.bind({ values: ['us-east-2'] }),
    serialize.describe({ type: 'P' }),
    serialize.execute({ rows: 2 }),
    serialize.execute({ rows: 2 }),
    serialize.execute({ rows: 2 }),
    serialize.sync(),
  );
  const m = await client.untilReady();
  expect(names(m)).toEqual([
    'parseComplete',
    'bindComplete',
    'rowDescription',
    'dataRow',
    'dataRow',
    'portalSuspended',
    'dataRow',
    'dataRow',
    'portalSuspended',
    'dataRow',
    'commandComplete',
    'readyForQuery',
  ]);
  expect(m.filter((x) => x.name === 'dataRow').map((x) => (x.fields as string[])[0])).toEqual([
    'r1',
    'r2',
    'r3',
    'r4',
    'r5',
  ]);
  expect(m[10]).toMatchObject({ text: 'SELECT 1' });
});

test('binary parameters and binary results', async () => {
  const four = Buffer.alloc(4);
  four.writeInt32BE(41);
  client.send(
    serialize.parse({ text: 'SELECT $1::int4 + 1 AS n', types: [23] }),
    serialize.bind({ values: [four], binary: true }),
    serialize.describe({ type: 'P' }),
    serialize.execute(),
    serialize.sync(),
  );
  const m = await client.untilReady();
  const row = m.find((x) => x.name === 'dataRow') as unknown as { fields: string[] };
  expect(m.find((x) => x.name === 'rowDescription')).toMatchObject({
    fields: [expect.objectContaining({ format: 'binary' })],
  });
  // pg-protocol hands binary fields over as latin1-ish strings: the four bytes of 42.
  expect(Buffer.from(row.fields[0]!, 'binary').readInt32BE(0)).toBe(42);
});

test('an error skips every message until Sync, then the connection works', async () => {
  client.send(
    serialize.parse({ text: 'SELECT * FROM appflow.no_such_table' }),
    serialize.bind(),
    serialize.describe({ type: 'P' }),
    serialize.execute(),
    serialize.parse({ name: 'never', text: 'SELECT 1' }),
    serialize.sync(),
  );
  const m = await client.untilReady();
  // Parse analysis finds the unknown table, as PostgreSQL's does.
  expect(names(m)).toEqual(['error', 'readyForQuery']);
  expect(m[0]).toMatchObject({ code: '42P01' });
  // 'never' was skipped, so it does not exist.
  client.send(serialize.describe({ type: 'S', name: 'never' }), serialize.sync());
  const again = await client.untilReady();
  expect(names(again)).toEqual(['error', 'readyForQuery']);
  expect(again[0]).toMatchObject({ code: '26000' });
  client.send(serialize.query('SELECT 1'));
  expect(names(await client.untilReady())).toEqual([
    'rowDescription',
    'dataRow',
    'commandComplete',
    'readyForQuery',
  ]);
});

test('a syntax error at Parse is reported at Parse with its position', async () => {
  client.send(
    serialize.parse({ text: 'SELECT FROM WHERE' }),
    serialize.bind(),
    serialize.execute(),
    serialize.sync(),
  );
  const m = await client.untilReady();
  expect(names(m)).toEqual(['error', 'readyForQuery']);
  expect(m[0]).toMatchObject({ code: '42601', position: '13' });
});

test('a multi-statement simple query answers each statement, and stops at the first error', async () => {
  client.send(serialize.query('SELECT 1 AS a; SELECT 2 AS b; SELECT 1/0; SELECT 3'));
  const m = await client.untilReady();
  expect(names(m)).toEqual([
    'rowDescription',
    'dataRow',
    'commandComplete',
    'rowDescription',
    'dataRow',
    'commandComplete',
    'error',
    'readyForQuery',
  ]);
  expect(m[6]).toMatchObject({ code: '22012' });
});

test('an empty query gets EmptyQueryResponse', async () => {
  client.send(serialize.query('  ;  '));
  expect(names(await client.untilReady())).toEqual(['emptyQuery', 'readyForQuery']);
});

test('ReadyForQuery carries the transaction status', async () => {
  client.send(serialize.query('BEGIN'));
  expect((await client.untilReady()).at(-1)).toMatchObject({ status: 'T' });
  client.send(serialize.query('SELECT 1/0'));
  expect((await client.untilReady()).at(-1)).toMatchObject({ status: 'E' });
  client.send(serialize.query('ROLLBACK'));
  expect((await client.untilReady()).at(-1)).toMatchObject({ status: 'I' });
});

test('Close of a statement and a portal, Flush without Sync', async () => {
  client.send(
    serialize.parse({ name: 'c1', text: 'SELECT 1' }),
    serialize.bind({ statement: 'c1', portal: 'p1' }),
    serialize.close({ type: 'P', name: 'p1' }),
    serialize.close({ type: 'S', name: 'c1' }),
    serialize.flush(),
  );
  expect(names(await client.take(4))).toEqual([
    'parseComplete',
    'bindComplete',
    'closeComplete',
    'closeComplete',
  ]);
  client.send(serialize.bind({ statement: 'c1' }), serialize.sync());
  const m = await client.untilReady();
  expect(m[0]).toMatchObject({ code: '26000' });
});

test('CancelRequest stops a running statement with 57014 and the session goes on', async () => {
  client.send(serialize.query('SELECT pg_sleep(10)'));
  await new Promise((r) => setTimeout(r, 300));
  const cancel = net.connect(stack.bridge.port, '127.0.0.1');
  await new Promise((r) => cancel.once('connect', r));
  cancel.end(serialize.cancel(client.processId, client.secretKey));
  const started = Date.now();
  const m = await client.untilReady();
  expect(Date.now() - started).toBeLessThan(8000);
  expect(m[0]).toMatchObject({ name: 'error', code: '57014' });
  client.send(serialize.query('SELECT 1'));
  expect(names(await client.untilReady())).toContain('dataRow');
});
