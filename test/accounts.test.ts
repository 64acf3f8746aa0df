/**
 * Many accounts in one database: a bridge configured by a YAML file with three accounts (one by AWS profile,
 * one by a role assumed from it, one whose role Cloud Control denies) against the emulator, which keeps
 * resources per account (by signing access key) and answers STS. Counted at the emulator.
 */
import pg from 'pg';
import { AccountsFixture, connectorProfile as profile, profileNames as names } from './support/accounts.js';
import {
  connectKeepingNotices,
  emulatorCalls,
  resetEmulatorCalls,
  startBridge,
  startEmulator,
  type Started,
} from './support/processes.js';
import { createProfiles, ONLY_CONNECTOR_PROFILES } from './support/stack.js';

const PROD_KEY = 'AKIAPRODEXAMPLE00001';
const PROD_SECRET = 'prodSecretExample/K7MDENG/bPxRfiCYEXAMPLE';
const PROD_ID = '111111111111';
const AUDIT_ROLE = 'arn:aws:iam::222222222222:role/reader';
const DENIED_ROLE = 'arn:aws:iam::333333333333:role/denied';

let fixture: AccountsFixture;
let emulator: Started & { endpoint: string };
let bridge: Started & { port: number };

const calls = () => emulatorCalls(emulator.endpoint);

const resetCalls = () => resetEmulatorCalls(emulator.endpoint);

const connect = () => connectKeepingNotices(bridge.port);

beforeAll(async () => {
  // The profile account's keys live in a shared credentials file, as a user's would.
  fixture = new AccountsFixture('accounts-test-', {
    credentials: `[prod]\naws_access_key_id = ${PROD_KEY}\naws_secret_access_key = ${PROD_SECRET}\n`,
    config: '[profile prod]\nregion = us-east-1\n',
  });
  const config = fixture.writeFile('bridge.yaml', [
    'regions: [us-east-1]',
    'accounts:',
    '  prod:',
    '    profile: prod',
    '  audit:',
    `    role_arn: ${AUDIT_ROLE}`,
    '    source: prod',
    '    session_name: sql-audit',
    // Short sessions: the emulator lets them expire during the test; the bridge must assume the role again.
    '    duration_seconds: 2',
    '  locked:',
    `    role_arn: ${DENIED_ROLE}`,
    '    source: prod',
  ]);
  emulator = await startEmulator([
    '--completion-delay-ms',
    '20',
    '--access-key',
    `${PROD_KEY}=${PROD_ID}`,
    '--deny-role',
    DENIED_ROLE,
    '--min-session-seconds',
    '1',
  ]);
  const prodKeys = { accessKeyId: PROD_KEY, secretAccessKey: PROD_SECRET };
  await createProfiles(fixture.client(emulator.endpoint, prodKeys), [profile('prod-a')]);
  await createProfiles(fixture.roleClient(emulator.endpoint, AUDIT_ROLE, prodKeys), [
    profile('audit-a'),
    profile('audit-b'),
  ]);
  // The default account (any other key) is not configured: its profile must never show.
  await createProfiles(
    fixture.client(emulator.endpoint, { accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' }),
    [profile('default-a')],
  );

  bridge = await fixture.startBridge(config, emulator.endpoint, {
    // Not the profile: these example keys must not be what reads the prod account.
    env: { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' },
  });
}, 240000);

afterAll(async () => {
  await bridge?.stop();
  await emulator?.stop();
  fixture?.close();
});

describe('a query over several accounts', () => {
  it('fails by default, naming the account that failed, its region and the cause', async () => {
    const { client } = await connect();
    try {
      const err = await client
        .query('SELECT connector_profile_name, account_name FROM appflow.connector_profiles')
        .then(
          () => undefined,
          (e: pg.DatabaseError) => e,
        );
      expect(err?.code).toBe('42501');
      expect(err?.message).toContain('account "locked" (333333333333)');
      expect(err?.message).toContain('us-east-1');
      expect(err?.detail).toContain('assumed-role/denied');
      // The connection keeps working.
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  it("with aws.partial_results on, returns the readable accounts' rows and a WARNING naming the missing one", async () => {
    const { client, notices } = await connect();
    try {
      await client.query('SET aws.partial_results = on');
      const { rows } = await client.query(
        'SELECT connector_profile_name, account_name, account_id FROM appflow.connector_profiles ORDER BY 1',
      );
      expect(rows).toEqual([
        { connector_profile_name: 'audit-a', account_name: 'audit', account_id: '222222222222' },
        { connector_profile_name: 'audit-b', account_name: 'audit', account_id: '222222222222' },
        { connector_profile_name: 'prod-a', account_name: 'prod', account_id: PROD_ID },
      ]);
      const warnings = notices.filter((n) => n.severity === 'WARNING');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.message).toMatch(
        /^no rows from account "locked" \(333333333333\) in us-east-1: .*denied/,
      );
      await client.query('RESET aws.partial_results');
      await expect(client.query('SELECT count(*) FROM appflow.connector_profiles')).rejects.toMatchObject({
        code: '42501',
      });
      // As PostgreSQL refuses a bad boolean: at the SET, and the session keeps working.
      await expect(client.query("SET aws.partial_results = 'maybe'")).rejects.toMatchObject({
        code: '22023',
        message: expect.stringContaining('aws.partial_results'),
      });
      expect((await client.query('SHOW aws.partial_results')).rows).toEqual([{ 'aws.partial_results': '' }]);
    } finally {
      await client.end();
    }
  });

  it('WHERE account_id = ... or account_name = ... reaches only that account', async () => {
    const { client } = await connect();
    try {
      await resetCalls();
      const byId = await client.query(
        "SELECT connector_profile_name, account_name FROM appflow.connector_profiles WHERE account_id = '222222222222'",
      );
      expect(names(byId.rows)).toEqual(['audit-a', 'audit-b']);
      expect((await calls()).ListResources).toBe(1);

      await resetCalls();
      const byName = await client.query(
        "SELECT connector_profile_name, account_id FROM appflow.connector_profiles WHERE account_name = 'prod'",
      );
      expect(byName.rows).toEqual([{ connector_profile_name: 'prod-a', account_id: PROD_ID }]);
      expect((await calls()).ListResources).toBe(1);

      // EXPLAIN names the account each call goes to.
      const plan = await client.query(
        "EXPLAIN SELECT connector_profile_name FROM appflow.connector_profiles WHERE account_name IN ('prod', 'audit')",
      );
      const text = plan.rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
      expect(text).toContain('ListResources AWS::AppFlow::ConnectorProfile in us-east-1 of account "prod"');
      expect(text).toContain('ListResources AWS::AppFlow::ConnectorProfile in us-east-1 of account "audit"');
      expect(text).not.toContain('"locked"');
    } finally {
      await client.end();
    }
  });
});

describe('writes', () => {
  it('an INSERT must name its account when several are configured, and lands in the one named', async () => {
    const { client } = await connect();
    try {
      const insert = (columns: string, values: string) =>
        client.query(
          `INSERT INTO appflow.connector_profiles (connector_profile_name, connector_type, connection_mode${columns})
           VALUES ('written'${values}) RETURNING connector_profile_name, account_name, account_id`,
        );
      await expect(insert('', ", 'Slack', 'Public'")).rejects.toMatchObject({
        code: '23502',
        message: expect.stringContaining('say which account'),
        hint: expect.stringContaining('prod, audit, locked'),
      });
      const { rows } = await insert(', account_name', ", 'Slack', 'Public', 'audit'");
      expect(rows).toEqual([
        { connector_profile_name: 'written', account_name: 'audit', account_id: '222222222222' },
      ]);

      // The emulator holds it in the audit account only.
      const stored = (await (await fetch(`${emulator.endpoint}/__admin/resources`)).json()) as Record<
        string,
        Record<string, Record<string, unknown>>
      >;
      expect(Object.keys(stored['222222222222/us-east-1']!['AWS::AppFlow::ConnectorProfile']!)).toContain(
        'written',
      );
      expect(Object.keys(stored[`${PROD_ID}/us-east-1`]!['AWS::AppFlow::ConnectorProfile']!)).not.toContain(
        'written',
      );

      // By id too; an account that is not configured is refused.
      const byId = await insert(', account_id', ", 'Slack', 'Public', '111111111111'");
      expect(byId.rows).toEqual([
        { connector_profile_name: 'written', account_name: 'prod', account_id: PROD_ID },
      ]);
      await expect(insert(', account_id', ", 'Slack', 'Public', '999999999999'")).rejects.toMatchObject({
        code: '22023',
        message: expect.stringContaining('no configured account with id 999999999999'),
      });

      // DELETE goes to the account each row was read from.
      const deleted = await client.query(
        "DELETE FROM appflow.connector_profiles WHERE connector_profile_name = 'written' AND account_name IN ('prod', 'audit') RETURNING account_name",
      );
      expect(deleted.rows.map((r: { account_name: string }) => r.account_name).sort()).toEqual([
        'audit',
        'prod',
      ]);
    } finally {
      await client.end();
    }
  });
});

describe('cloud_control.resources and cloud_control.resource_requests', () => {
  const TYPE = 'AWS::AppFlow::ConnectorProfile';
  const stored = async (account: string): Promise<string[]> => {
    const all = (await (await fetch(`${emulator.endpoint}/__admin/resources`)).json()) as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    return Object.keys(all[`${account}/us-east-1`]?.[TYPE] ?? {}).sort();
  };

  it('read every account, failing by default naming the account, or with a WARNING under aws.partial_results', async () => {
    const { client, notices } = await connect();
    try {
      for (const sql of [
        `SELECT identifier, account_name FROM cloud_control.resources WHERE type_name = '${TYPE}'`,
        'SELECT type_name, account_name FROM cloud_control.resource_requests',
      ])
        await expect(client.query(sql)).rejects.toMatchObject({
          code: '42501',
          message: expect.stringContaining('account "locked" (333333333333)'),
        });

      await client.query('SET aws.partial_results = on');
      const { rows } = await client.query(
        `SELECT identifier, account_name, account_id, properties->>'ConnectorType' AS connector_type
           FROM cloud_control.resources WHERE type_name = '${TYPE}' ORDER BY identifier`,
      );
      expect(rows).toEqual([
        { identifier: 'audit-a', account_name: 'audit', account_id: '222222222222', connector_type: 'Slack' },
        { identifier: 'audit-b', account_name: 'audit', account_id: '222222222222', connector_type: 'Slack' },
        { identifier: 'prod-a', account_name: 'prod', account_id: PROD_ID, connector_type: 'Slack' },
      ]);
      const requests = await client.query(
        `SELECT account_name, account_id, identifier FROM cloud_control.resource_requests
          WHERE operation = 'CREATE' AND identifier IN ('prod-a', 'audit-a', 'audit-b') ORDER BY identifier`,
      );
      expect(requests.rows).toEqual([
        { account_name: 'audit', account_id: '222222222222', identifier: 'audit-a' },
        { account_name: 'audit', account_id: '222222222222', identifier: 'audit-b' },
        { account_name: 'prod', account_id: PROD_ID, identifier: 'prod-a' },
      ]);
      const warnings = notices.filter((n) => n.severity === 'WARNING').map((n) => n.message);
      expect(warnings).toHaveLength(2);
      for (const w of warnings)
        expect(w).toMatch(/^no rows from account "locked" \(333333333333\) in us-east-1: /);
    } finally {
      await client.end();
    }
  });

  it('WHERE account_name = ... or account_id = ... reads only that account (counted at the emulator)', async () => {
    const { client } = await connect();
    try {
      await resetCalls();
      const byName = await client.query(
        `SELECT identifier, account_id FROM cloud_control.resources WHERE type_name = $1 AND account_name = 'prod'`,
        [TYPE],
      );
      expect(byName.rows).toEqual([{ identifier: 'prod-a', account_id: PROD_ID }]);
      expect((await calls()).ListResources).toBe(1);

      await resetCalls();
      const byId = await client.query(
        `SELECT identifier, account_name FROM cloud_control.resource_requests
          WHERE account_id = '222222222222' AND operation = 'CREATE' AND identifier LIKE 'audit-%' ORDER BY 1`,
      );
      expect(byId.rows).toEqual([
        { identifier: 'audit-a', account_name: 'audit' },
        { identifier: 'audit-b', account_name: 'audit' },
      ]);
      expect((await calls()).ListResourceRequests).toBe(1);

      const plan = await client.query(
        `EXPLAIN SELECT * FROM cloud_control.resource_requests WHERE account_name IN ('prod', 'audit')`,
      );
      expect(plan.rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n')).toContain(
        'ListResourceRequests in us-east-1 of account "audit"',
      );
    } finally {
      await client.end();
    }
  });

  it("an INSERT names its account; UPDATE and DELETE go to the row's account", async () => {
    const { client } = await connect();
    try {
      const properties = JSON.stringify(profile('cc-audit'));
      await expect(
        client.query(
          `INSERT INTO cloud_control.resources (type_name, region, properties) VALUES ($1, 'us-east-1', $2)`,
          [TYPE, properties],
        ),
      ).rejects.toMatchObject({
        code: '23502',
        message: expect.stringContaining('say which account'),
        hint: expect.stringContaining('prod, audit, locked'),
      });
      const inserted = await client.query(
        `INSERT INTO cloud_control.resources (type_name, region, properties, account_name)
           VALUES ($1, 'us-east-1', $2, 'audit') RETURNING identifier, account_name, account_id`,
        [TYPE, properties],
      );
      expect(inserted.rows).toEqual([
        { identifier: 'cc-audit', account_name: 'audit', account_id: '222222222222' },
      ]);
      expect(await stored('222222222222')).toContain('cc-audit');
      expect(await stored(PROD_ID)).not.toContain('cc-audit');

      const updated = await client.query(
        `UPDATE cloud_control.resources SET properties = properties || '{"ConnectionMode": "Private"}'
          WHERE type_name = $1 AND identifier = 'cc-audit' AND account_name IN ('prod', 'audit')
          RETURNING account_name, properties->>'ConnectionMode' AS mode`,
        [TYPE],
      );
      expect(updated.rows).toEqual([{ account_name: 'audit', mode: 'Private' }]);
      await expect(
        client.query(
          `UPDATE cloud_control.resources SET account_name = 'prod' WHERE type_name = $1 AND account_name = 'audit'`,
          [TYPE],
        ),
      ).rejects.toMatchObject({ code: '428C9' });

      const deleted = await client.query(
        `DELETE FROM cloud_control.resources WHERE type_name = $1 AND identifier = 'cc-audit'
           AND account_id IN ('111111111111', '222222222222') RETURNING account_name`,
        [TYPE],
      );
      expect(deleted.rows).toEqual([{ account_name: 'audit' }]);
      expect(await stored('222222222222')).not.toContain('cc-audit');
    } finally {
      await client.end();
    }
  });
});

describe('credentials', () => {
  it('an assumed-role session that expires is assumed again', async () => {
    const { client } = await connect();
    try {
      const read = () =>
        client.query(
          "SELECT connector_profile_name FROM appflow.connector_profiles WHERE account_name = 'audit'",
        );
      await resetCalls();
      expect(names((await read()).rows)).toEqual(['audit-a', 'audit-b']);
      const first = (await calls()).AssumeRole ?? 0;
      expect(first).toBeGreaterThanOrEqual(1);
      // The 2-second session is now expired at the emulator: a bridge that kept it would get ExpiredTokenException.
      await new Promise((r) => setTimeout(r, 2500));
      expect(names((await read()).rows)).toEqual(['audit-a', 'audit-b']);
      expect((await calls()).AssumeRole).toBeGreaterThan(first);
    } finally {
      await client.end();
    }
  });
});

describe('without a configuration file', () => {
  it('serves one account, named default, whose id STS gives', async () => {
    const single = await startBridge([
      '--endpoint',
      emulator.endpoint,
      '--region',
      'us-east-1',
      '--cache-ttl-ms',
      '0',
      ...ONLY_CONNECTOR_PROFILES,
    ]);
    const client = new pg.Client({ host: '127.0.0.1', port: single.port, user: 'postgres', database: 'aws' });
    try {
      await client.connect();
      await resetCalls();
      const { rows } = await client.query(
        'SELECT connector_profile_name, account_id, account_name FROM appflow.connector_profiles',
      );
      // The emulator's default account: the example keys sign for it.
      expect(rows).toEqual([
        { connector_profile_name: 'default-a', account_id: '123456789012', account_name: 'default' },
      ]);
      expect((await calls()).GetCallerIdentity).toBe(1);
      // Read once: the id is kept.
      await client.query('SELECT account_id FROM appflow.connector_profiles');
      expect((await calls()).GetCallerIdentity).toBe(1);
    } finally {
      await client.end();
      await single.stop();
    }
  }, 240000);
});

describe('cloud_control.refresh_accounts() without organization:', () => {
  it('is 55000 saying what to configure; the accounts are read as before', async () => {
    const { client } = await connect();
    try {
      await expect(client.query('SELECT * FROM cloud_control.refresh_accounts()')).rejects.toMatchObject({
        code: '55000',
        message: expect.stringContaining('lists the accounts of an AWS Organization'),
        hint: expect.stringContaining('organization:'),
      });
      const { rows } = await client.query(
        "SELECT connector_profile_name FROM appflow.connector_profiles WHERE account_name = 'prod'",
      );
      expect(names(rows)).toEqual(['prod-a']);
    } finally {
      await client.end();
    }
  });
});

describe('regions: all', () => {
  const configWith = (name: string, account: string[]) => fixture.writeFile(name, ['accounts:', ...account]);

  it("reads every region enabled in the account, listed once at start with the account's credentials", async () => {
    await resetCalls();
    const all = await fixture.startBridge(
      configWith('all.yaml', ['  prod:', '    profile: prod', '    regions: all']),
      emulator.endpoint,
    );
    const client = new pg.Client({ host: '127.0.0.1', port: all.port, user: 'postgres', database: 'aws' });
    try {
      expect((await calls()).ListRegions).toBe(1);
      await client.connect();
      await resetCalls();
      const { rows } = await client.query(
        'SELECT connector_profile_name, region, account_name FROM appflow.connector_profiles',
      );
      expect(rows).toEqual([{ connector_profile_name: 'prod-a', region: 'us-east-1', account_name: 'prod' }]);
      // The emulator's account has the 17 regions AWS enables by default; the opt-in ones are disabled.
      const counted = await calls();
      expect(counted.ListResources).toBe(17);
      expect(counted.ListRegions).toBeUndefined();
    } finally {
      await client.end();
      await all.stop();
    }
  }, 240000);

  it('an account that cannot list its regions stops the start, naming the account and what to allow', () => {
    const file = configWith('locked-all.yaml', [
      '  prod:',
      '    profile: prod',
      '  locked:',
      `    role_arn: ${DENIED_ROLE}`,
      '    source: prod',
      '    regions: all',
    ]);
    const result = fixture.runBridge(['--config', file, '--endpoint', emulator.endpoint]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('account locked: regions: all could not list its enabled regions');
    expect(result.stderr).toContain('account:ListRegions');
  });
});

describe('a configuration file with a mistake', () => {
  // No shared files: the mistake is found before any credentials are read.
  const run = (yaml: string) => fixture.runBridge(['--config', fixture.writeFile('bad.yaml', [yaml])], {});

  it.each([
    [
      'regions: all\naccounts:\n  a: {}\n',
      "regions: all (the enabled regions, discovered) is an account's setting",
    ],
    [
      'accounts:\n  a:\n    profile: p\n    role_arn: arn:aws:iam::222222222222:role/r\n',
      'give profile or role_arn, not both',
    ],
    ['accounts:\n  a:\n    rolearn: x\n', 'accounts.a: unknown key rolearn'],
    [
      'accounts:\n  a:\n    role_arn: arn:aws:iam::222222222222:role/r\n    source: b\n',
      'accounts.a.source: b is no account of this file',
    ],
    ['accounts: [\n', 'not valid YAML'],
  ])('%j stops the server with a message naming the key', (yaml, message) => {
    const result = run(yaml);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
