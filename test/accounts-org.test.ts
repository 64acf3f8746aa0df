/**
 * Organizations discovery: a bridge configured with `organization:` lists the emulator's organization at start
 * (ListAccounts, every page) with the management account's profile, and reads each ACTIVE member through the
 * role it assumes there. Members: payments (readable), one named like a configured account (so named by its id),
 * retired (SUSPENDED: skipped), sandbox (its role denied), one excluded by the configuration.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudControlClient } from '@aws-sdk/client-cloudcontrol';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import pg from 'pg';
import type { NoticeMessage } from 'pg-protocol/dist/messages.js';
import {
  connectKeepingNotices,
  emulatorCalls,
  resetEmulatorCalls,
  fakeAwsEnv,
  projectRoot,
  startBridge,
  startEmulator,
  type Started,
} from './support/processes.js';
import { createProfiles, ONLY_CONNECTOR_PROFILES } from './support/stack.js';

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
const roleIn = (id: string) => `arn:aws:iam::${id}:role/${ROLE}`;

let dir: string;
let emulator: Started & { endpoint: string };
let bridge: Started & { port: number };
let listAccountsAtStart: number | undefined;
const clients: CloudControlClient[] = [];

const profile = (name: string) => ({
  ConnectorProfileName: name,
  ConnectorType: 'Slack',
  ConnectionMode: 'Public' as const,
});

const calls = () => emulatorCalls(emulator.endpoint);

const resetCalls = () => resetEmulatorCalls(emulator.endpoint);

const connect = () => connectKeepingNotices(bridge.port);

const env = () => ({
  AWS_CONFIG_FILE: path.join(dir, 'config'),
  AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
});

function writeConfig(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, [...lines, ''].join('\n'));
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'accounts-org-test-'));
  writeFileSync(
    path.join(dir, 'credentials'),
    `[mgmt]\naws_access_key_id = ${MGMT_KEY}\naws_secret_access_key = ${MGMT_SECRET}\n` +
      `[outsider]\naws_access_key_id = ${OUTSIDER_KEY}\naws_secret_access_key = x\n`,
  );
  writeFileSync(path.join(dir, 'config'), '[profile mgmt]\nregion = us-east-1\n');
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
  const mgmtCredentials = { accessKeyId: MGMT_KEY, secretAccessKey: MGMT_SECRET };
  const sdk = (credentials: CloudControlClient['config']['credentials'] | typeof mgmtCredentials) => {
    const c = new CloudControlClient({ region: 'us-east-1', endpoint: emulator.endpoint, credentials });
    clients.push(c);
    return c;
  };
  const member = (id: string) =>
    sdk(
      fromTemporaryCredentials({
        params: { RoleArn: roleIn(id), RoleSessionName: 'seed' },
        masterCredentials: mgmtCredentials,
        clientConfig: { region: 'us-east-1', endpoint: emulator.endpoint },
      }),
    );
  await createProfiles(sdk(mgmtCredentials), [profile('mgmt-a')]);
  await createProfiles(member(PAYMENTS), [profile('payments-a'), profile('payments-b')]);
  await createProfiles(member(NAMED_LIKE_MGMT), [profile('clash-a')]);
  await createProfiles(member(RETIRED), [profile('retired-a')]);
  await createProfiles(member(EXCLUDED), [profile('excluded-a')]);

  await resetCalls();
  bridge = await startBridge(
    [
      '--config',
      writeConfig('org.yaml', [
        'regions: [us-east-1]',
        'accounts:',
        '  mgmt:',
        '    profile: mgmt',
        'organization:',
        `  role_name: ${ROLE}`,
        '  from: mgmt',
        `  exclude: ['${EXCLUDED}']`,
      ]),
      '--endpoint',
      emulator.endpoint,
      '--cache-ttl-ms',
      '0',
      ...ONLY_CONNECTOR_PROFILES,
    ],
    env(),
  );
  listAccountsAtStart = (await calls()).ListAccounts;
}, 240000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await bridge?.stop();
  await emulator?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
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
    const all = await startBridge(
      [
        '--config',
        writeConfig('org-all.yaml', [
          'regions: [us-east-1]',
          'accounts:',
          '  mgmt:',
          '    profile: mgmt',
          'organization:',
          `  role_name: ${ROLE}`,
          '  from: mgmt',
          '  regions: all',
          // The denied member could not list its regions: the start would stop.
          `  exclude: ['${EXCLUDED}', '${SANDBOX}']`,
        ]),
        '--endpoint',
        emulator.endpoint,
        '--cache-ttl-ms',
        '0',
        ...ONLY_CONNECTOR_PROFILES,
      ],
      env(),
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
  const start = (file: string) =>
    spawnSync(
      process.execPath,
      [path.join(projectRoot, 'dist/server/main.js'), '--config', file, '--endpoint', emulator.endpoint],
      { env: { ...process.env, ...fakeAwsEnv, ...env() }, encoding: 'utf8', timeout: 120000 },
    );

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
  ])('%j stops the server with a message naming the key', (yaml, message) => {
    const result = start(writeConfig('bad-org.yaml', [yaml]));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
