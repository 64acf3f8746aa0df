import pg from 'pg';
import { psql } from './support/psql.js';
import { createProfiles, sendCancel, startStack, TYPE_NAME, type Stack } from './support/stack.js';
import { failureOf } from './support/failure.js';

const region = 'ap-south-1';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ regions: [region] });
});
afterAll(() => stack?.stop());

const awsModel = (identifier: string) => stack.awsModel(region, identifier);
const storedModel = (identifier: string) => stack.storedModel(region, identifier);
const requestCount = () => stack.requestCount(region);
const setFaults = (faults: Record<string, unknown>) => stack.setFaults(faults);

async function client(): Promise<pg.Client> {
  const c = new pg.Client(stack.pg);
  await c.connect();
  return c;
}

const profile = (name: string, type = 'Salesforce') => ({
  ConnectorProfileName: name,
  ConnectorType: type,
  ConnectionMode: 'Public' as const,
});

test('UPDATE of a column sends a patch; the change is live in AWS', async () => {
  await createProfiles(stack.sdk(region), [profile('upd-1')]);
  const c = await client();
  try {
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    const r = await c.query(
      `UPDATE appflow.connector_profile SET connection_mode = 'Private' WHERE region = $1 AND data__identifier = $2`,
      [region, 'upd-1'],
    );
    expect(r.command).toBe('UPDATE');
    expect(r.rowCount).toBe(1);
    expect(notices.some((n) => /UpdateResource upd-1 in ap-south-1: SUCCESS/.test(n))).toBe(true);
    expect(await awsModel('upd-1')).toMatchObject({ ConnectionMode: 'Private' });
  } finally {
    await c.end();
  }
});

test('UPDATE with jsonb_set on the write-only config column adds it (AWS never returns it)', async () => {
  await createProfiles(stack.sdk(region), [profile('upd-json')]);
  const r = psql(
    stack.pg,
    [
      `UPDATE appflow.connector_profile
        SET connector_profile_config = jsonb_set(
              coalesce(connector_profile_config, '{"ConnectorProfileProperties": {"Salesforce": {}}}'),
              '{ConnectorProfileProperties,Salesforce,InstanceUrl}', '"https://example.my.salesforce.com"')
      WHERE region = '${region}' AND data__identifier = 'upd-json'`,
    ],
    { tags: true },
  );
  expect(r.stderr).not.toMatch(/ERROR/);
  expect(r.stdout).toContain('UPDATE 1');
  expect((await storedModel('upd-json'))?.ConnectorProfileConfig).toEqual({
    ConnectorProfileProperties: { Salesforce: { InstanceUrl: 'https://example.my.salesforce.com' } },
  });
  expect(await awsModel('upd-json')).not.toHaveProperty('ConnectorProfileConfig');
});

test('SET data__PatchDocument passes an RFC 6902 patch through unchanged', async () => {
  await createProfiles(stack.sdk(region), [profile('upd-raw')]);
  const c = await client();
  try {
    const r = await c.query(
      `UPDATE appflow.connector_profile SET data__PatchDocument = $1 WHERE region = '${region}' AND data__Identifier = 'upd-raw'`,
      [
        JSON.stringify([
          { op: 'test', path: '/ConnectionMode', value: 'Public' },
          { op: 'replace', path: '/ConnectionMode', value: 'Private' },
        ]),
      ],
    );
    expect(r.rowCount).toBe(1);
    expect(await awsModel('upd-raw')).toMatchObject({ ConnectionMode: 'Private' });
  } finally {
    await c.end();
  }
});

test('INSERT creates a resource; RETURNING shows it as read back from AWS', async () => {
  const c = await client();
  try {
    const r = await c.query(
      `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode)
       VALUES ($1, 'ins-1', 'Zendesk', 'Public'), ($1, 'ins-2', 'Slack', 'Private')
       RETURNING connector_profile_name, connector_profile_arn, credentials_arn IS NOT NULL AS has_credentials`,
      [region],
    );
    expect(r.command).toBe('INSERT');
    expect(r.rowCount).toBe(2);
    expect(r.rows.sort((a, b) => a.connector_profile_name.localeCompare(b.connector_profile_name))).toEqual([
      {
        connector_profile_name: 'ins-1',
        connector_profile_arn: `arn:aws:appflow:${region}:123456789012:connectorprofile/ins-1`,
        has_credentials: true,
      },
      {
        connector_profile_name: 'ins-2',
        connector_profile_arn: `arn:aws:appflow:${region}:123456789012:connectorprofile/ins-2`,
        has_credentials: true,
      },
    ]);
    expect(await awsModel('ins-2')).toMatchObject({ ConnectorType: 'Slack', ConnectionMode: 'Private' });
  } finally {
    await c.end();
  }
});

test('INSERT ... SELECT copies resources under new names', async () => {
  await createProfiles(stack.sdk(region), [profile('src-a', 'Datadog'), profile('src-b', 'Datadog')]);
  const r = psql(
    stack.pg,
    [
      `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode)
     SELECT region, 'copy-of-' || connector_profile_name, connector_type, connection_mode
       FROM appflow.connector_profiles WHERE region = '${region}' AND connector_profile_name LIKE 'src-%'`,
    ],
    { tags: true },
  );
  expect(r.stdout).toContain('INSERT 0 2');
  expect(await awsModel('copy-of-src-a')).toMatchObject({ ConnectorType: 'Datadog' });
  expect(await awsModel('copy-of-src-b')).toMatchObject({ ConnectorType: 'Datadog' });
});

test('DELETE removes each resource its WHERE selects; RETURNING shows them', async () => {
  await createProfiles(stack.sdk(region), [profile('del-1', 'Marketo'), profile('del-2', 'Marketo')]);
  const c = await client();
  try {
    const r = await c.query(
      `DELETE FROM appflow.connector_profiles WHERE region = '${region}' AND connector_type = 'Marketo' RETURNING connector_profile_name`,
    );
    expect(r.command).toBe('DELETE');
    expect(r.rows.map((x) => x.connector_profile_name).sort()).toEqual(['del-1', 'del-2']);
    expect(await awsModel('del-1')).toBeUndefined();
    expect(await awsModel('del-2')).toBeUndefined();
  } finally {
    await c.end();
  }
});

test('a duplicate create fails with 23505 after the request was accepted', async () => {
  await createProfiles(stack.sdk(region), [profile('dup')]);
  const c = await client();
  try {
    await expect(
      c.query(
        `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode) VALUES ('${region}', 'dup', 'Salesforce', 'Public')`,
      ),
    ).rejects.toMatchObject({ code: '23505', detail: expect.stringContaining('AlreadyExists') });
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  } finally {
    await c.end();
  }
});

test('changing a create-only or read-only column is refused before any call', async () => {
  await createProfiles(stack.sdk(region), [profile('ro-1')]);
  const before = await requestCount();
  const c = await client();
  try {
    await expect(
      c.query(
        `UPDATE appflow.connector_profile SET connector_type = 'Slack' WHERE region = '${region}' AND data__identifier = 'ro-1'`,
      ),
    ).rejects.toMatchObject({ code: '0A000', message: expect.stringContaining('connector_type') });
    await expect(
      c.query(
        `UPDATE appflow.connector_profile SET credentials_arn = 'x' WHERE region = '${region}' AND data__identifier = 'ro-1'`,
      ),
    ).rejects.toMatchObject({ code: '428C9', message: expect.stringContaining('read-only') });
  } finally {
    await c.end();
  }
  expect(await requestCount()).toBe(before);
});

test('a validation failure comes back with the model message', async () => {
  const c = await client();
  try {
    await expect(
      c.query(
        `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode) VALUES ('${region}', 'bad-type', 'NoSuchConnector', 'Public')`,
      ),
    ).rejects.toMatchObject({ code: '22023', detail: expect.stringContaining('Model validation failed') });
  } finally {
    await c.end();
  }
  expect(await awsModel('bad-type')).toBeUndefined();
});

test('a multi-row UPDATE with one failure names it, and says which succeeded', async () => {
  await createProfiles(stack.sdk(region), [
    profile('multi-a', 'Veeva'),
    profile('multi-b', 'Veeva'),
    profile('multi-c', 'Veeva'),
  ]);
  await setFaults({
    failIdentifiers: { 'multi-b': { errorCode: 'NotStabilized', statusMessage: 'the handler gave up' } },
  });
  const c = await client();
  const notices: string[] = [];
  c.on('notice', (n) => notices.push(n.message ?? ''));
  try {
    const err = await failureOf(
      c.query(
        `UPDATE appflow.connector_profiles SET connection_mode = 'Private' WHERE region = '${region}' AND connector_type = 'Veeva'`,
      ),
    );
    expect(err.message).toBe('1 of 3 UpdateResource requests failed');
    expect(err.detail).toContain('"multi-b"');
    expect(err.detail).toContain('the handler gave up');
    expect(notices.join('\n')).toMatch(/succeeded.*"multi-a", "multi-c"/);
  } finally {
    await setFaults({ failIdentifiers: {} });
    await c.end();
  }
  expect(await awsModel('multi-a')).toMatchObject({ ConnectionMode: 'Private' });
  expect(await awsModel('multi-b')).toMatchObject({ ConnectionMode: 'Public' });
});

test('cancel during the await stops waiting and names the request still in flight', async () => {
  await createProfiles(stack.sdk(region), [profile('slow-1')]);
  await setFaults({ completionDelayMs: 8000 });
  const c = await client();
  try {
    const pending = failureOf(
      c.query(
        `UPDATE appflow.connector_profile SET connection_mode = 'Private' WHERE region = '${region}' AND data__identifier = 'slow-1'`,
      ),
    );
    await new Promise((r) => setTimeout(r, 700));
    sendCancel(stack, c);
    const err = await pending;
    expect(err.code).toBe('57014');
    expect(err.detail).toMatch(/slow-1.*[0-9a-f]{8}-[0-9a-f]{4}-/s);
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  } finally {
    await setFaults({ completionDelayMs: 20 });
    await c.end();
  }
});

test('EXPLAIN of a write shows the requests and sends none', async () => {
  await createProfiles(stack.sdk(region), [profile('exp-1')]);
  const before = await requestCount();
  const r = psql(stack.pg, [
    `EXPLAIN UPDATE appflow.connector_profile SET connection_mode = 'Private' WHERE region = '${region}' AND data__identifier = 'exp-1'`,
  ]);
  expect(r.stdout).toContain(`UpdateResource ${TYPE_NAME} "exp-1" in ${region}`);
  expect(r.stdout).toContain('PatchDocument: [{"op":"replace","path":"/ConnectionMode","value":"Private"}]');
  expect(await requestCount()).toBe(before);
  expect(await awsModel('exp-1')).toMatchObject({ ConnectionMode: 'Public' });
});

test('read-only mode refuses every write with 25006', async () => {
  const bridge = await stack.startBridge(['--read-only']);
  try {
    const r = psql(
      { ...stack.pg, port: bridge.port },
      [`DELETE FROM appflow.connector_profiles WHERE region = '${region}'`],
      { variables: { VERBOSITY: 'verbose' } },
    );
    expect(r.stderr).toMatch(/ERROR:\s+25006: cannot execute DELETE in read-only mode/);
    expect(await awsModel('exp-1')).toBeDefined();
  } finally {
    await bridge.stop();
  }
});

test('AccessDenied on a write is 42501 with the IAM permissions in the HINT', async () => {
  await createProfiles(stack.sdk(region), [profile('denied-1')]);
  await setFaults({ denyOperations: ['UpdateResource'] });
  const c = await client();
  try {
    const err = await failureOf(
      c.query(
        `UPDATE appflow.connector_profile SET connection_mode = 'Private' WHERE region = '${region}' AND data__identifier = 'denied-1'`,
      ),
    );
    expect(err.code).toBe('42501');
    expect(err.hint).toContain('appflow:UpdateConnectorProfile');
  } finally {
    await setFaults({ denyOperations: [] });
    await c.end();
  }
});

test('connector credentials never reach the server log or an error message', async () => {
  const secret = 'SECRET-ACCESS-TOKEN-4711';
  const bridge = await stack.startBridge(['--log-level', 'debug']);
  const c = new pg.Client({ ...stack.pg, port: bridge.port });
  await c.connect();
  try {
    const config = (extra: Record<string, unknown>) =>
      JSON.stringify({ ConnectorProfileCredentials: { Salesforce: { AccessToken: secret, ...extra } } });
    await c.query(
      `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode, connector_profile_config)
       VALUES ($1, 'secret-ok', 'Salesforce', 'Public', $2)`,
      [region, config({})],
    );
    const err = (await failureOf(
      c.query(
        `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode, connector_profile_config)
         VALUES ($1, 'secret-bad', 'Salesforce', 'Public', $2)`,
        [region, config({ NotAField: secret })],
      ),
    )) as { code: string; message: string; detail?: string; hint?: string };
    expect(err.code).toBe('22023');
    expect(`${err.message} ${err.detail} ${err.hint}`).not.toContain(secret);
    const explained = await c.query(
      `EXPLAIN INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode, connector_profile_config) VALUES ($1, 'x', 'Salesforce', 'Public', $2)`,
      [region, config({})],
    );
    expect(JSON.stringify(explained.rows)).not.toContain(secret);
    expect((await storedModel('secret-ok'))?.ConnectorProfileConfig).toEqual(JSON.parse(config({})));
  } finally {
    await c.end();
    await bridge.stop();
  }
  expect(bridge.output()).toMatch(/CreateResource/);
  expect(bridge.output()).not.toContain(secret);
});

test('INSERT and DELETE go to the collection table: the resource table refuses them and says where to go', async () => {
  const before = await requestCount();
  const c = await client();
  try {
    await expect(
      c.query(
        `INSERT INTO appflow.connector_profile (region, connector_profile_name, connector_type, connection_mode) VALUES ('${region}', 'wrong-table', 'Slack', 'Public')`,
      ),
    ).rejects.toMatchObject({
      code: '0A000',
      message: 'INSERT is not supported on appflow.connector_profile',
      hint: 'Use appflow.connector_profiles, which serves INSERT through its CreateResource method.',
    });
    await expect(
      c.query(`DELETE FROM appflow.connector_profile WHERE region = '${region}' AND data__identifier = 'x'`),
    ).rejects.toMatchObject({ code: '0A000', hint: expect.stringContaining('DeleteResource') });
  } finally {
    await c.end();
  }
  expect(await requestCount()).toBe(before);
});
