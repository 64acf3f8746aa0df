import { psql } from './support/psql.js';
import { names, RawClient, serialize, type Message } from './support/raw-client.js';
import { startStack, type Stack } from './support/stack.js';

const region = 'ca-central-1';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ regions: [region] });
});
afterAll(() => stack?.stop());

const awsModel = (identifier: string) => stack.awsModel(region, identifier);
const requestCount = () => stack.requestCount(region);

const COLUMNS = '(region, connector_profile_name, connector_type, connection_mode)';

const find = (messages: Message[], name: string) => messages.find((m) => m.name === name);

async function raw(): Promise<RawClient> {
  return RawClient.connect(stack.bridge.port);
}

test('psql \\copy from stdin csv header creates one resource per row: COPY 3, live in AWS', async () => {
  const r = psql(stack.pg, [`\\copy appflow.connector_profiles ${COLUMNS} from stdin csv header`], {
    tags: true,
    // Typed as at psql's prompt: psql 15 sends the closing `\.` line to the server, which drops it.
    stdin:
      'region,connector_profile_name,connector_type,connection_mode\n' +
      `${region},csv-1,Zendesk,Public\n` +
      `${region},csv-2,Slack,Private\n` +
      `${region},"csv-3",Datadog,Public\n` +
      '\\.\n',
  });
  expect(r.stderr).not.toMatch(/ERROR/);
  expect(r.stdout).toContain('COPY 3');
  expect(r.stderr).toMatch(/NOTICE:\s+CreateResource csv-1 in ca-central-1: SUCCESS/);
  expect(await awsModel('csv-1')).toMatchObject({ ConnectorType: 'Zendesk', ConnectionMode: 'Public' });
  expect(await awsModel('csv-2')).toMatchObject({ ConnectorType: 'Slack', ConnectionMode: 'Private' });
  expect(await awsModel('csv-3')).toMatchObject({ ConnectorType: 'Datadog' });
});

test('text format with \\N as NULL: the NULL column is an absent property', async () => {
  const r = psql(
    stack.pg,
    [`\\copy appflow.connector_profiles ${COLUMNS.replace(')', ', connector_label)')} from stdin`],
    {
      tags: true,
      stdin: `${region}\ttext-1\tZendesk\tPublic\t\\N\n${region}\ttext-2\tZendesk\tPublic\tmy-label\n\\.\n`,
    },
  );
  expect(r.stderr).not.toMatch(/ERROR/);
  expect(r.stdout).toContain('COPY 2');
  expect(await awsModel('text-1')).not.toHaveProperty('ConnectorLabel');
  expect(await awsModel('text-2')).toMatchObject({ ConnectorLabel: 'my-label' });
});

test('the client file of the user guide: \\copy ... from a CSV file with a header', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'copy-from-')), 'profiles.csv');
  writeFileSync(
    file,
    `region,connector_profile_name,connector_type,connection_mode\r\n${region},file-1,Marketo,Public\r\n`,
  );
  const r = psql(stack.pg, [`\\copy appflow.connector_profiles ${COLUMNS} from '${file}' csv header`], {
    tags: true,
  });
  expect(r.stderr).not.toMatch(/ERROR/);
  expect(r.stdout).toContain('COPY 1');
  expect(await awsModel('file-1')).toMatchObject({ ConnectorType: 'Marketo' });
});

test('CopyInResponse has one text column per listed column, or all the table has; statements after COPY go on', async () => {
  const c = await raw();
  try {
    c.send(serialize.query(`COPY appflow.connector_profiles ${COLUMNS} FROM STDIN; SELECT 42 AS answer`));
    const [response] = await c.take(1);
    expect(response).toMatchObject({ name: 'copyInResponse', binary: false });
    expect((response as unknown as { columnTypes: number[] }).columnTypes).toEqual([0, 0, 0, 0]);
    c.send(
      serialize.copyData(Buffer.from(`${region}\tmulti-1\tSlack\t`)),
      serialize.copyData(Buffer.from('Public\n')),
      serialize.copyDone(),
    );
    const after = await c.untilReady();
    expect(after.filter((m) => m.name === 'commandComplete').map((m) => m.text)).toEqual([
      'COPY 1',
      'SELECT 1',
    ]);
    expect(await awsModel('multi-1')).toMatchObject({ ConnectorType: 'Slack' });

    c.send(serialize.query('COPY appflow.connector_profiles FROM STDIN WITH (FORMAT csv)'));
    const [all] = await c.take(1);
    expect(all!.name).toBe('copyInResponse');
    const columns = (all as unknown as { columnTypes: number[] }).columnTypes.length;
    c.send(serialize.copyDone());
    expect(find(await c.untilReady(), 'commandComplete')).toMatchObject({ text: 'COPY 0' });
    c.send(
      serialize.query(
        "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'appflow' AND table_name = 'connector_profiles'",
      ),
    );
    const count = await c.untilReady();
    expect(find(count, 'dataRow')).toMatchObject({ fields: [String(columns)] });
  } finally {
    c.close();
  }
});

test('CopyFail ends the COPY with 57014 and the client message; nothing is created', async () => {
  const before = await requestCount();
  const c = await raw();
  try {
    c.send(serialize.query(`COPY appflow.connector_profiles ${COLUMNS} FROM STDIN WITH (FORMAT csv)`));
    expect(names(await c.take(1))).toEqual(['copyInResponse']);
    c.send(
      serialize.copyData(Buffer.from(`${region},failed-1,Slack,Public\n`)),
      serialize.copyFail('user gave up'),
    );
    const reply = await c.untilReady();
    expect(names(reply)).toEqual(['error', 'readyForQuery']);
    expect(reply[0]).toMatchObject({ code: '57014', message: 'COPY from stdin failed: user gave up' });
    // The session goes on; copy messages that arrive after the COPY ended are ignored.
    c.send(serialize.copyData(Buffer.from('late\n')), serialize.copyDone(), serialize.query('SELECT 1'));
    expect(names(await c.untilReady())).toContain('dataRow');
  } finally {
    c.close();
  }
  expect(await awsModel('failed-1')).toBeUndefined();
  expect(await requestCount()).toBe(before);
});

test('a message other than copy data during copy-in is a protocol violation; Flush and Sync are ignored', async () => {
  const c = await raw();
  try {
    c.send(serialize.query(`COPY appflow.connector_profiles ${COLUMNS} FROM STDIN`));
    expect(names(await c.take(1))).toEqual(['copyInResponse']);
    c.send(serialize.flush(), serialize.sync(), serialize.query('SELECT 1'));
    const reply = await c.untilReady();
    expect(names(reply)).toEqual(['error', 'readyForQuery']);
    expect(reply[0]).toMatchObject({
      code: '08P01',
      message: 'unexpected message type 0x51 during COPY from stdin',
    });
  } finally {
    c.close();
  }
});

test('one bad row (unknown ConnectorType) fails with the validation error; the others are reported', async () => {
  const c = await raw();
  try {
    c.send(serialize.query(`COPY appflow.connector_profiles ${COLUMNS} FROM STDIN WITH (FORMAT csv)`));
    await c.take(1);
    c.send(
      serialize.copyData(
        Buffer.from(
          `${region},mixed-ok-1,Zendesk,Public\n${region},mixed-bad,NoSuchConnector,Public\n${region},mixed-ok-2,Zendesk,Public\n`,
        ),
      ),
      serialize.copyDone(),
    );
    const reply = await c.untilReady();
    const error = find(reply, 'error');
    expect(error).toMatchObject({ code: '22023', message: '1 of 3 CreateResource requests failed' });
    expect(error!.detail).toMatch(/"mixed-bad".*Model validation failed/s);
    const notices = reply.filter((m) => m.name === 'notice').map((m) => String(m.message));
    expect(notices.join('\n')).toMatch(/succeeded.*"mixed-ok-1"/);
    expect(notices.join('\n')).toMatch(/succeeded.*"mixed-ok-2"/);
  } finally {
    c.close();
  }
  expect(await awsModel('mixed-ok-1')).toBeDefined();
  expect(await awsModel('mixed-ok-2')).toBeDefined();
  expect(await awsModel('mixed-bad')).toBeUndefined();
});

test('a row without a required column fails with 23502 before any request; an empty COPY sends none', async () => {
  const before = await requestCount();
  const missing = psql(
    stack.pg,
    [`\\copy appflow.connector_profiles (region, connector_profile_name, connection_mode) from stdin csv`],
    { variables: { VERBOSITY: 'verbose' }, stdin: `${region},no-type,Public\n` },
  );
  expect(missing.stderr).toMatch(
    /ERROR:\s+23502: null value in column "connector_type" violates the resource type's required properties/,
  );
  const empty = psql(stack.pg, [`\\copy appflow.connector_profiles ${COLUMNS} from stdin csv header`], {
    tags: true,
    stdin: 'region,connector_profile_name,connector_type,connection_mode\n',
  });
  expect(empty.stderr).toBe('');
  expect(empty.stdout).toContain('COPY 0');
  expect(await requestCount()).toBe(before);
  expect(await awsModel('no-type')).toBeUndefined();
});

test('data PostgreSQL cannot parse fails with its own error and CONTEXT', () => {
  const r = psql(stack.pg, [`\\copy appflow.connector_profiles ${COLUMNS} from stdin csv`], {
    variables: { VERBOSITY: 'verbose' },
    stdin: `${region},too-few,Slack\n`,
  });
  expect(r.stderr).toMatch(/ERROR:\s+22P04: missing data for column "connection_mode"/);
  expect(r.stderr).toMatch(/CONTEXT:\s+COPY connector_profiles, line 1/);
});

test('what cannot be created into is refused before CopyInResponse', async () => {
  const c = await raw();
  const refused = async (sql: string) => {
    c.send(serialize.query(sql));
    const reply = await c.untilReady();
    expect(names(reply)).toEqual(['error', 'readyForQuery']);
    return reply[0]!;
  };
  try {
    expect(await refused('COPY appflow.connector_profile (region) FROM STDIN')).toMatchObject({
      code: '0A000',
      message: 'COPY FROM is not supported on appflow.connector_profile',
      hint: expect.stringContaining('appflow.connector_profiles'),
    });
    expect(await refused('COPY cloud_control.resource_requests FROM STDIN')).toMatchObject({
      code: '0A000',
      message: expect.stringContaining('it is read-only'),
    });
    expect(await refused('COPY pg_catalog.pg_class FROM STDIN')).toMatchObject({ code: '0A000' });
    expect(await refused("COPY appflow.connector_profiles FROM '/etc/passwd'")).toMatchObject({
      code: '0A000',
      message: 'COPY from a file or program on the server is not supported',
    });
    expect(await refused('COPY appflow.connector_profiles (region, nope) FROM STDIN')).toMatchObject({
      code: '42703',
    });
    expect(
      await refused('COPY appflow.connector_profiles (region) FROM STDIN WITH (FORMAT xml)'),
    ).toMatchObject({ code: '22023' });
    expect(
      await refused('COPY appflow.connector_profiles (region, connector_profile_arn) FROM STDIN'),
    ).toMatchObject({ code: '428C9' });
    expect(await refused('EXPLAIN COPY appflow.connector_profiles FROM STDIN')).toMatchObject({
      code: '42601',
    });
  } finally {
    c.close();
  }
});

test('a read-only transaction and read-only mode refuse COPY FROM with 25006', async () => {
  const c = await raw();
  try {
    c.send(serialize.query('BEGIN READ ONLY'));
    await c.untilReady();
    c.send(serialize.query(`COPY appflow.connector_profiles ${COLUMNS} FROM STDIN`));
    const reply = await c.untilReady();
    expect(names(reply)).toEqual(['error', 'readyForQuery']);
    expect(reply[0]).toMatchObject({
      code: '25006',
      message: 'cannot execute COPY FROM in a read-only transaction',
    });
  } finally {
    c.close();
  }

  const bridge = await stack.startBridge(['--read-only']);
  try {
    const r = psql(
      { ...stack.pg, port: bridge.port },
      [`\\copy appflow.connector_profiles ${COLUMNS} from stdin csv`],
      { variables: { VERBOSITY: 'verbose' }, stdin: `${region},ro-1,Slack,Public\n` },
    );
    expect(r.stderr).toMatch(/ERROR:\s+25006: cannot execute COPY FROM in read-only mode/);
  } finally {
    await bridge.stop();
  }
  expect(await awsModel('ro-1')).toBeUndefined();
});

test('extended protocol: Execute of COPY FROM STDIN asks for the data; the Sync sent with it is ignored', async () => {
  const c = await raw();
  try {
    c.send(
      serialize.parse({ text: `COPY appflow.connector_profiles ${COLUMNS} FROM STDIN WITH (FORMAT csv)` }),
      serialize.bind(),
      serialize.describe({ type: 'P' }),
      serialize.execute(),
      serialize.sync(),
    );
    expect(names(await c.take(4))).toEqual(['parseComplete', 'bindComplete', 'noData', 'copyInResponse']);
    c.send(
      serialize.copyData(Buffer.from(`${region},ext-1,Veeva,Public\n`)),
      serialize.copyDone(),
      serialize.sync(),
    );
    const reply = await c.untilReady();
    expect(find(reply, 'commandComplete')).toMatchObject({ text: 'COPY 1' });
    expect(names(reply).filter((n) => n === 'readyForQuery')).toHaveLength(1);

    // CopyFail in the extended protocol: the error, then messages are skipped up to the next Sync.
    c.send(
      serialize.parse({ text: `COPY appflow.connector_profiles ${COLUMNS} FROM STDIN` }),
      serialize.bind(),
      serialize.execute(),
      serialize.flush(),
    );
    expect(names(await c.take(3))).toEqual(['parseComplete', 'bindComplete', 'copyInResponse']);
    c.send(serialize.copyFail('no'), serialize.parse({ text: 'SELECT 1' }), serialize.sync());
    const failed = await c.untilReady();
    expect(names(failed)).toEqual(['error', 'readyForQuery']);
    expect(failed[0]).toMatchObject({ code: '57014', message: 'COPY from stdin failed: no' });
  } finally {
    c.close();
  }
  expect(await awsModel('ext-1')).toMatchObject({ ConnectorType: 'Veeva' });
});

test('binary format: PostgreSQL parses it too', async () => {
  const field = (s: string) => {
    const b = Buffer.from(s);
    const len = Buffer.alloc(4);
    len.writeInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const row = Buffer.concat([
    Buffer.from([0, 4]),
    field(region),
    field('bin-1'),
    field('Zendesk'),
    field('Private'),
  ]);
  const data = Buffer.concat([
    Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
    Buffer.alloc(8),
    row,
    Buffer.from([0xff, 0xff]),
  ]);
  const c = await raw();
  try {
    c.send(serialize.query(`COPY appflow.connector_profiles ${COLUMNS} FROM STDIN WITH (FORMAT binary)`));
    const [response] = await c.take(1);
    expect(response).toMatchObject({ name: 'copyInResponse', binary: true });
    c.send(serialize.copyData(data), serialize.copyDone());
    expect(find(await c.untilReady(), 'commandComplete')).toMatchObject({ text: 'COPY 1' });
  } finally {
    c.close();
  }
  expect(await awsModel('bin-1')).toMatchObject({ ConnectionMode: 'Private' });
});

test('statement_timeout while waiting for copy data ends the COPY; the data sent later is ignored', async () => {
  const c = await raw();
  try {
    c.send(serialize.query("SET statement_timeout = '300ms'"));
    await c.untilReady();
    c.send(serialize.query(`COPY appflow.connector_profiles ${COLUMNS} FROM STDIN`));
    expect(names(await c.take(1))).toEqual(['copyInResponse']);
    const reply = await c.untilReady();
    expect(names(reply)).toEqual(['error', 'readyForQuery']);
    expect(reply[0]).toMatchObject({
      code: '57014',
      message: 'canceling statement due to statement timeout',
    });
    c.send(
      serialize.copyData(Buffer.from(`${region}\tlate-1\tSlack\tPublic\n`)),
      serialize.copyDone(),
      serialize.query('SELECT 7 AS n'),
    );
    expect(find(await c.untilReady(), 'dataRow')).toMatchObject({ fields: ['7'] });
  } finally {
    c.close();
  }
  expect(await awsModel('late-1')).toBeUndefined();
});
