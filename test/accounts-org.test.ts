/**
 * Organizations discovery: a bridge configured with `organization:` lists the emulator's organization at start
 * (ListAccounts, every page) with the management account's profile, and reads each ACTIVE member through the
 * role it assumes there. Members: payments (readable), one named like a configured account (so named by its id),
 * retired (SUSPENDED: skipped), sandbox (its role denied), one excluded by the configuration. Then members join,
 * are suspended and leave at the emulator (POST /__admin/organization) while bridges run, which read them after
 * cloud_control.refresh_accounts() or their refresh period.
 */
import pg from 'pg';
import { AccountsFixture, connectorProfile as profile } from './support/accounts.js';
import { startRedis } from './support/redis.js';
import {
  changeEmulatorOrganization,
  connectKeepingNotices,
  eventually,
  jsonLogLines,
  emulatorCalls,
  resetEmulatorCalls,
  startEmulator,
  type Started,
} from './support/processes.js';
import { createProfiles } from './support/stack.js';

const MGMT_KEY = 'AKIAMGMTEXAMPLE00001';
const MGMT_SECRET = 'mgmtSecretExample/K7MDENG/bPxRfiCYEXAMPLE';
const MGMT_ID = '999999999999';
const OUTSIDER_KEY = 'AKIAOUTSIDEREXAMPLE1';
const ROLE = 'OrganizationAccountAccessRole';
const PAYMENTS = '444444444444';
const NAMED_LIKE_MGMT = '888888888888';
const RETIRED = '666666666666';
const SANDBOX = '777777777777';
const EXCLUDED = '555555555555';
/** Members that join after the bridges started. */
const NEWBIE = '121212121212';
const LATE = '131313131313';
const roleIn = (id: string) => `arn:aws:iam::${id}:role/${ROLE}`;

let fixture: AccountsFixture;
let emulator: Started & { endpoint: string };
let bridge: Started & { port: number };
let listAccountsAtStart: number | undefined;

const calls = () => emulatorCalls(emulator.endpoint);

const resetCalls = () => resetEmulatorCalls(emulator.endpoint);

const emulatorFaults = async (update: object) =>
  fetch(`${emulator.endpoint}/__admin/faults`, { method: 'POST', body: JSON.stringify(update) });

const connect = () => connectKeepingNotices(bridge.port);

const writeConfig = (name: string, lines: string[]) => fixture.writeFile(name, lines);
/** The management account by its profile, its organization's members through ROLE; then `organization:`'s other keys. */
const organizationConfig = (name: string, organizationKeys: string[]) =>
  writeConfig(name, [
    'regions: [us-east-1]',
    'accounts:',
    '  mgmt:',
    '    profile: mgmt',
    'organization:',
    `  role_name: ${ROLE}`,
    '  from: mgmt',
    ...organizationKeys.map((line) => `  ${line}`),
  ]);

beforeAll(async () => {
  fixture = new AccountsFixture('accounts-org-test-', {
    credentials:
      `[mgmt]\naws_access_key_id = ${MGMT_KEY}\naws_secret_access_key = ${MGMT_SECRET}\n` +
      `[outsider]\naws_access_key_id = ${OUTSIDER_KEY}\naws_secret_access_key = x\n`,
    config: '[profile mgmt]\nregion = us-east-1\n',
  });
  emulator = await startEmulator([
    '--completion-delay-ms',
    '20',
    '--access-key',
    `${MGMT_KEY}=${MGMT_ID}`,
    '--access-key',
    `${OUTSIDER_KEY}=101010101010`,
    '--org-management',
    MGMT_ID,
    '--org-account',
    `${PAYMENTS}=payments`,
    '--org-account',
    `${NAMED_LIKE_MGMT}=mgmt`,
    '--org-account',
    `${RETIRED}=retired:SUSPENDED`,
    '--org-account',
    `${SANDBOX}=sandbox`,
    '--org-account',
    `${EXCLUDED}=excluded`,
    '--deny-role',
    roleIn(SANDBOX),
  ]);
  const mgmtKeys = { accessKeyId: MGMT_KEY, secretAccessKey: MGMT_SECRET };
  const member = (id: string) => fixture.roleClient(emulator.endpoint, roleIn(id), mgmtKeys);
  await createProfiles(fixture.client(emulator.endpoint, mgmtKeys), [profile('mgmt-a')]);
  await createProfiles(member(PAYMENTS), [profile('payments-a'), profile('payments-b')]);
  await createProfiles(member(NAMED_LIKE_MGMT), [profile('clash-a')]);
  await createProfiles(member(RETIRED), [profile('retired-a')]);
  await createProfiles(member(EXCLUDED), [profile('excluded-a')]);
  // Their accounts exist before they are members of the organization.
  await createProfiles(member(NEWBIE), [profile('newbie-a')]);
  await createProfiles(member(LATE), [profile('late-a')]);

  await resetCalls();
  bridge = await fixture.startBridge(
    organizationConfig('org.yaml', [`exclude: ['${EXCLUDED}']`]),
    emulator.endpoint,
  );
  listAccountsAtStart = (await calls()).ListAccounts;
}, 240000);

afterAll(async () => {
  await bridge?.stop();
  await emulator?.stop();
  fixture?.close();
});

describe('an organization', () => {
  it('is listed once at start, every page', () => {
    // Six accounts, two a page.
    expect(listAccountsAtStart).toBe(3);
  });

  it("reads every ACTIVE member through its role, named by the member's Name (its id when the name is taken)", async () => {
    const { client, notices } = await connect();
    try {
      await client.query('SET aws.partial_results = on');
      const { rows } = await client.query(
        'SELECT connector_profile_name, account_name, account_id FROM appflow.connector_profiles ORDER BY 1',
      );
      expect(rows).toEqual([
        { connector_profile_name: 'clash-a', account_name: NAMED_LIKE_MGMT, account_id: NAMED_LIKE_MGMT },
        { connector_profile_name: 'mgmt-a', account_name: 'mgmt', account_id: MGMT_ID },
        { connector_profile_name: 'payments-a', account_name: 'payments', account_id: PAYMENTS },
        { connector_profile_name: 'payments-b', account_name: 'payments', account_id: PAYMENTS },
      ]);
      // The SUSPENDED and the excluded members are not read; the denied one is named.
      const warnings = notices.filter((n) => n.severity === 'WARNING').map((n) => n.message);
      expect(warnings).toEqual([
        expect.stringMatching(
          new RegExp(`^no rows from account "sandbox" \\(${SANDBOX}\\) in us-east-1: .*denied`),
        ),
      ]);
    } finally {
      await client.end();
    }
  });

  it('fails by default naming the member whose role is denied; account_name pins one member', async () => {
    const { client } = await connect();
    try {
      await expect(client.query('SELECT count(*) FROM appflow.connector_profiles')).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining(`account "sandbox" (${SANDBOX})`),
      });
      await resetCalls();
      const { rows } = await client.query(
        `SELECT identifier, account_id FROM cloud_control.resources
          WHERE type_name = 'AWS::AppFlow::ConnectorProfile' AND account_name = 'payments' ORDER BY 1`,
      );
      expect(rows).toEqual([
        { identifier: 'payments-a', account_id: PAYMENTS },
        { identifier: 'payments-b', account_id: PAYMENTS },
      ]);
      expect((await calls()).ListResources).toBe(1);
    } finally {
      await client.end();
    }
  });
});

describe('an organization with regions: all', () => {
  it("lists each member's enabled regions at start, with the member's role", async () => {
    await resetCalls();
    const all = await fixture.startBridge(
      organizationConfig('org-all.yaml', [
        'regions: all',
        // The denied member could not list its regions: the start would stop.
        `exclude: ['${EXCLUDED}', '${SANDBOX}']`,
      ]),
      emulator.endpoint,
    );
    const client = new pg.Client({ host: '127.0.0.1', port: all.port, user: 'postgres', database: 'aws' });
    try {
      // payments and the member named by its id; mgmt keeps the top-level regions.
      expect((await calls()).ListRegions).toBe(2);
      await client.connect();
      await resetCalls();
      const { rows } = await client.query(
        "SELECT connector_profile_name, region FROM appflow.connector_profiles WHERE account_name = 'payments' ORDER BY 1",
      );
      expect(rows).toEqual([
        { connector_profile_name: 'payments-a', region: 'us-east-1' },
        { connector_profile_name: 'payments-b', region: 'us-east-1' },
      ]);
      // The 17 regions AWS enables by default.
      expect((await calls()).ListResources).toBe(17);
    } finally {
      await client.end();
      await all.stop();
    }
  }, 240000);
});

describe('an organization that cannot be read', () => {
  const start = (file: string) => fixture.runBridge(['--config', file, '--endpoint', emulator.endpoint]);

  it('stops the start when the caller cannot list it, naming the identity and what to allow', () => {
    const result = start(
      writeConfig('outsider.yaml', [
        'regions: [us-east-1]',
        'organization:',
        `  role_name: ${ROLE}`,
        '  from: outsider',
      ]),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      "organization: profile outsider could not list the organization's accounts",
    );
    expect(result.stderr).toContain('organizations:ListAccounts');
  });

  it.each([
    ['organization:\n  from: mgmt\n', 'organization.role_name: give the name of the role'],
    [
      `organization:\n  role_name: ${ROLE}\n  exclude: [abc]\n`,
      'organization.exclude: give a list of 12-digit',
    ],
    [`organization:\n  role_name: ${ROLE}\n  region: [us-east-1]\n`, 'organization: unknown key region'],
    [
      `organization:\n  role_name: ${ROLE}\n  refresh: 10 minutes\n`,
      'organization.refresh: give a period from 1s to 7d such as 30s, 15m or 1h, or off',
    ],
  ])('%j stops the server with a message naming the key', (yaml, message) => {
    const result = start(writeConfig('bad-org.yaml', [yaml]));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe('members that change while the server runs', () => {
  const organization = (update: object) => changeEmulatorOrganization(emulator.endpoint, update);
  // The read cache keeps its default 5 s: the result cache keeps answers, which a change must not let through.
  const orgBridge = (file: string, refresh: string) =>
    fixture.startBridge(
      organizationConfig(file, [`exclude: ['${EXCLUDED}']`, `refresh: ${refresh}`]),
      emulator.endpoint,
      { args: [] },
    );
  const namesIn = async (client: pg.Client, account: string) =>
    (
      await client.query(
        'SELECT connector_profile_name FROM appflow.connector_profiles WHERE account_name = $1 ORDER BY 1',
        [account],
      )
    ).rows.map((r: { connector_profile_name: string }) => r.connector_profile_name);

  describe('on demand: cloud_control.refresh_accounts()', () => {
    let onDemand: Started & { port: number };
    let client: pg.Client;
    const connectOnDemand = () => connectKeepingNotices(onDemand.port);
    beforeAll(async () => {
      onDemand = await orgBridge('org-on-demand.yaml', 'off');
      ({ client } = await connectOnDemand());
    }, 240000);
    afterAll(async () => {
      await client?.end();
      await onDemand?.stop();
      await organization({ remove: NEWBIE, listFailure: null });
    });

    it('reads a member that joined, named and counted as at start, from the next statement on', async () => {
      // Kept by the result cache (the read cache keeps its 5 s): the refresh must not let it be served again.
      expect(await namesIn(client, 'newbie')).toEqual([]);
      await organization({ account: { id: NEWBIE, name: 'newbie' } });
      expect(await namesIn(client, 'newbie')).toEqual([]);
      const { rows } = await client.query('SELECT * FROM cloud_control.refresh_accounts()');
      expect(rows).toEqual([{ change: 'added', account_name: 'newbie', account_id: NEWBIE }]);
      expect(await namesIn(client, 'newbie')).toEqual(['newbie-a']);
      const typed = await client.query(
        `SELECT identifier, account_name, account_id FROM cloud_control.resources
          WHERE type_name = 'AWS::AppFlow::ConnectorProfile' AND account_id = $1`,
        [NEWBIE],
      );
      expect(typed.rows).toEqual([{ identifier: 'newbie-a', account_name: 'newbie', account_id: NEWBIE }]);
      // Nothing changed since: no row.
      expect((await client.query('SELECT * FROM cloud_control.refresh_accounts()')).rows).toEqual([]);
    });

    it('keeps the accounts when the organization cannot be listed, with the error and a warning in the log', async () => {
      await organization({ listFailure: 'AccessDeniedException' });
      try {
        await expect(client.query('SELECT * FROM cloud_control.refresh_accounts()')).rejects.toMatchObject({
          code: '42501',
          message: expect.stringContaining('organizations:ListAccounts'),
        });
        await organization({ listFailure: 'ServiceException' });
        await expect(client.query('SELECT * FROM cloud_control.refresh_accounts()')).rejects.toMatchObject({
          code: '58000',
          message: expect.stringContaining("could not list the organization's accounts"),
        });
        expect(await namesIn(client, 'newbie')).toEqual(['newbie-a']);
        const warned = () => jsonLogLines(onDemand.output(), /members could not be listed again/);
        await eventually('the failures are logged', () => warned().length === 2);
        expect(warned()).toEqual([
          expect.objectContaining({ level: 40, error: 'AccessDeniedException' }),
          expect.objectContaining({ level: 40, error: 'ServiceException' }),
        ]);
        expect(onDemand.output()).not.toContain(MGMT_SECRET);
      } finally {
        await organization({ listFailure: null });
      }
    });

    it('stops reading a member that is SUSPENDED; a statement already reading keeps it', async () => {
      const other = await connectOnDemand();
      try {
        await client.query('SET aws.partial_results = on');
        await emulatorFaults({ latencyMs: { ListResources: 1500 } });
        await resetCalls();
        // Every member is being listed when the refresh removes one; each one's resources are then read again
        // (pinned by the listed rows), from the accounts the statement started with.
        const inFlight = client.query(
          `SELECT DISTINCT p.account_name FROM appflow.connector_profiles p
             JOIN cloud_control.resources r ON r.type_name = 'AWS::AppFlow::ConnectorProfile'
              AND r.identifier = p.connector_profile_name AND r.account_name = p.account_name
            ORDER BY 1`,
        );
        await eventually('the read is listing', async () => ((await calls()).ListResources ?? 0) > 0);
        await organization({ account: { id: NEWBIE, name: 'newbie', state: 'SUSPENDED' } });
        const { rows } = await other.client.query('SELECT * FROM cloud_control.refresh_accounts()');
        expect(rows).toEqual([{ change: 'removed', account_name: 'newbie', account_id: NEWBIE }]);
        expect((await inFlight).rows.map((r: { account_name: string }) => r.account_name)).toContain(
          'newbie',
        );
        await emulatorFaults({ latencyMs: {} });
        expect(await namesIn(client, 'newbie')).toEqual([]);
        await expect(
          client.query(
            `SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE account_id = '${NEWBIE}'`,
          ),
        ).resolves.toMatchObject({ rows: [{ n: 0 }] });
      } finally {
        await emulatorFaults({ latencyMs: {} });
        await other.client.end();
      }
    });
  });

  describe('a name that passes to another account', () => {
    it('never gets the reads cached for the account that had it, even in a cache bridges share', async () => {
      await organization({ account: { id: NEWBIE, name: 'newbie' } });
      const redis = await startRedis();
      const shared = await fixture.startBridge(
        organizationConfig('org-shared.yaml', [`exclude: ['${EXCLUDED}']`, 'refresh: off']),
        emulator.endpoint,
        { args: ['--cache', redis.url, '--cache-ttl-ms', '60000'] },
      );
      const { client } = await connectKeepingNotices(shared.port);
      try {
        // Kept in Redis for a minute.
        expect(await namesIn(client, 'newbie')).toEqual(['newbie-a']);
        await organization({ remove: NEWBIE });
        await organization({ account: { id: LATE, name: 'newbie' } });
        const { rows } = await client.query('SELECT * FROM cloud_control.refresh_accounts()');
        expect(rows).toEqual([
          { change: 'removed', account_name: 'newbie', account_id: NEWBIE },
          { change: 'added', account_name: 'newbie', account_id: LATE },
        ]);
        await resetCalls();
        expect(await namesIn(client, 'newbie')).toEqual(['late-a']);
        expect((await calls()).ListResources).toBe(1);
      } finally {
        await client.end();
        await shared.stop();
        await redis.stop();
        await organization({ remove: LATE });
      }
    }, 120000);
  });

  describe('on a period: organization.refresh', () => {
    it('reads a member that joined and stops reading one that left, the set kept when a re-list fails', async () => {
      const periodic = await orgBridge('org-period.yaml', '1s');
      const { client } = await connectKeepingNotices(periodic.port);
      try {
        expect(await namesIn(client, 'late')).toEqual([]);
        await organization({ account: { id: LATE, name: 'late' } });
        await eventually(
          'the member that joined is read',
          async () => (await namesIn(client, 'late')).length > 0,
        );
        expect(await namesIn(client, 'late')).toEqual(['late-a']);

        await organization({ listFailure: 'ServiceException' });
        await eventually(
          'a failed re-list is logged',
          () => jsonLogLines(periodic.output(), /members could not be listed again/).length > 0,
        );
        expect(await namesIn(client, 'late')).toEqual(['late-a']);
        await organization({ listFailure: null });

        await organization({ remove: LATE });
        await eventually(
          'the member that left is not read',
          async () => (await namesIn(client, 'late')).length === 0,
        );
        await expect(
          client.query("SELECT count(*) FROM appflow.connector_profiles WHERE account_name = 'late'"),
        ).resolves.toMatchObject({ rows: [{ count: '0' }] });
      } finally {
        await client.end();
        await periodic.stop();
        await organization({ remove: LATE, listFailure: null });
      }
    }, 120000);
  });
});
