import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { catalog } from '../catalog/index.js';
import type { IamPolicy } from '../server/iam-policy.js';
import { projectRoot } from './support/processes.js';

/** `aws-sql-bridge iam-policy ...` as a process: its exit status, stdout and stderr. */
function iamPolicy(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    [path.join(projectRoot, 'dist/server/main.js'), 'iam-policy', ...args],
    {
      cwd: projectRoot,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort((a, b) => a.localeCompare(b, 'en'));
const profile = catalog.resourceType('AWS::AppFlow::ConnectorProfile')!.definition;
const ccRead = [
  'cloudformation:GetResource',
  'cloudformation:ListResourceRequests',
  'cloudformation:ListResources',
];
const ccWrite = [
  'cloudformation:CreateResource',
  'cloudformation:DeleteResource',
  'cloudformation:GetResourceRequestStatus',
  'cloudformation:UpdateResource',
];

test('--read-only for one type: its read and list handler permissions plus the Cloud Control read actions', () => {
  const r = iamPolicy('--read-only', '--types', 'AWS::AppFlow::ConnectorProfile');
  expect(r.status).toBe(0);
  const policy = JSON.parse(r.stdout) as IamPolicy;
  expect(policy.Version).toBe('2012-10-17');
  expect(policy.Statement).toHaveLength(1);
  const [read] = policy.Statement;
  expect(read).toMatchObject({ Effect: 'Allow', Resource: '*' });
  const handlers = [...profile.permissions.read!, ...profile.permissions.list!];
  expect(handlers.length).toBeGreaterThan(0);
  expect(read!.Action).toEqual(sorted([...handlers, ...ccRead]));
  expect(r.stdout).not.toContain('CreateResource');
});

test('without --read-only a second statement adds the write actions and the write handlers not already read', () => {
  const r = iamPolicy('--types', 'AWS::AppFlow::ConnectorProfile');
  expect(r.status).toBe(0);
  const policy = JSON.parse(r.stdout) as IamPolicy;
  expect(policy.Statement.map((s) => s.Sid)).toEqual(['AwsSqlBridgeRead', 'AwsSqlBridgeWrite']);
  const [read, write] = policy.Statement;
  const all = new Set([...read!.Action, ...write!.Action]);
  const handlers = (['create', 'read', 'update', 'delete', 'list'] as const).flatMap(
    (h) => profile.permissions[h] ?? [],
  );
  expect(sorted(all)).toEqual(sorted([...handlers, ...ccRead, ...ccWrite]));
  // Nothing twice: the write statement leaves out what the read statement already allows.
  expect(read!.Action.length + write!.Action.length).toBe(all.size);
  expect(write!.Action).toEqual(sorted(write!.Action));
  expect(write!.Action).not.toContain('cloudformation:CancelResourceRequest');
});

test('a glob unions the handler permissions of every type it selects, sorted and deduplicated', () => {
  const r = iamPolicy('--read-only', '--types', 'AWS::AppFlow::*,AWS::S3::Bucket');
  expect(r.status).toBe(0);
  const selected = catalog.resourceTypes
    .map((t) => t.definition)
    .filter((d) => d.typeName.startsWith('AWS::AppFlow::') || d.typeName === 'AWS::S3::Bucket');
  expect(selected.length).toBeGreaterThan(2);
  const expected = sorted([
    ...ccRead,
    ...selected.flatMap((d) => [...(d.permissions.read ?? []), ...(d.permissions.list ?? [])]),
  ]);
  expect((JSON.parse(r.stdout) as IamPolicy).Statement[0]!.Action).toEqual(expected);
});

test('every type: the whole policy comes out (not cut at a pipe buffer) with a warning that it is too large', () => {
  const r = iamPolicy();
  expect(r.status).toBe(0);
  const policy = JSON.parse(r.stdout) as IamPolicy;
  const s3 = catalog.resourceType('AWS::S3::Bucket')!.definition;
  expect(policy.Statement[0]!.Action).toEqual(expect.arrayContaining(s3.permissions.read!));
  expect(r.stderr).toMatch(
    /more than the 6144 IAM allows in one managed policy: serve fewer types \(--types/,
  );
});

test('bad input says what to do and exits 2', () => {
  const none = iamPolicy('--types', 'AWS::Nope::*');
  expect(none.status).toBe(2);
  expect(none.stderr).toContain('--types AWS::Nope::*: no resource type of the registry snapshot matches it');
  const flag = iamPolicy('--region', 'us-east-1');
  expect(flag.status).toBe(2);
  expect(flag.stderr).toContain('Usage: aws-sql-bridge iam-policy [--read-only]');
  expect(flag.stdout).toBe('');
});

describe('--config with organization:', () => {
  let dir: string;
  const file = (name: string, lines: string[]) => {
    const at = path.join(dir, name);
    writeFileSync(at, [...lines, ''].join('\n'));
    return at;
  };
  const orgFile = (regions: string) =>
    file(`org-${regions}.yaml`, [
      'accounts:',
      '  mgmt:',
      '    profile: mgmt',
      'organization:',
      '  role_name: OrganizationAccountAccessRole',
      '  from: mgmt',
      `  regions: ${regions}`,
    ]);
  beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'iam-policy-test-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("adds the from identity's statements (list the organization, assume the members' role) and ListRegions for regions: all", () => {
    const r = iamPolicy(
      '--read-only',
      '--types',
      'AWS::AppFlow::ConnectorProfile',
      '--config',
      orgFile('all'),
    );
    expect(r.status).toBe(0);
    const policy = JSON.parse(r.stdout) as IamPolicy;
    expect(policy.Statement.map((s) => s.Sid)).toEqual([
      'AwsSqlBridgeRead',
      'AwsSqlBridgeListRegions',
      'AwsSqlBridgeOrganizationList',
      'AwsSqlBridgeOrganizationAssumeRole',
    ]);
    expect(policy.Statement.slice(1)).toEqual([
      { Sid: 'AwsSqlBridgeListRegions', Effect: 'Allow', Action: ['account:ListRegions'], Resource: '*' },
      {
        Sid: 'AwsSqlBridgeOrganizationList',
        Effect: 'Allow',
        Action: ['organizations:ListAccounts'],
        Resource: '*',
      },
      {
        Sid: 'AwsSqlBridgeOrganizationAssumeRole',
        Effect: 'Allow',
        Action: ['sts:AssumeRole'],
        Resource: ['arn:aws:iam::*:role/OrganizationAccountAccessRole'],
      },
    ]);
    // Which identity each statement is for, on stderr: the policy on stdout stays pasteable.
    expect(r.stderr).toContain("AwsSqlBridgeOrganization* are for the organization's from identity");
  });

  it("--only prints each identity's policy alone; listed regions need no ListRegions", () => {
    const config = orgFile('[cn-north-1]');
    const reader = iamPolicy(
      '--types',
      'AWS::AppFlow::ConnectorProfile',
      '--config',
      config,
      '--only',
      'reader',
    );
    expect(reader.status).toBe(0);
    expect((JSON.parse(reader.stdout) as IamPolicy).Statement.map((s) => s.Sid)).toEqual([
      'AwsSqlBridgeRead',
      'AwsSqlBridgeWrite',
    ]);
    expect(reader.stderr).toBe('');
    const from = iamPolicy(
      '--types',
      'AWS::AppFlow::ConnectorProfile',
      '--config',
      config,
      '--only',
      'organization',
    );
    expect(from.status).toBe(0);
    const policy = JSON.parse(from.stdout) as IamPolicy;
    expect(policy.Statement.map((s) => [s.Sid, s.Action, s.Resource])).toEqual([
      ['AwsSqlBridgeOrganizationList', ['organizations:ListAccounts'], '*'],
      // The partition of the configured regions.
      [
        'AwsSqlBridgeOrganizationAssumeRole',
        ['sts:AssumeRole'],
        ['arn:aws-cn:iam::*:role/OrganizationAccountAccessRole'],
      ],
    ]);
  });

  it('a file without organization: has no Organization statements; bad --only or --config says what to do', () => {
    const plain = file('plain.yaml', ['accounts:', '  prod:', '    profile: prod']);
    const r = iamPolicy('--read-only', '--types', 'AWS::AppFlow::ConnectorProfile', '--config', plain);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as IamPolicy).Statement.map((s) => s.Sid)).toEqual(['AwsSqlBridgeRead']);
    const noOrg = iamPolicy('--config', plain, '--only', 'organization');
    expect(noOrg.status).toBe(2);
    expect(noOrg.stderr).toContain('has no organization:');
    const badPart = iamPolicy('--config', plain, '--only', 'everyone');
    expect(badPart.status).toBe(2);
    expect(badPart.stderr).toContain('--only everyone: give reader or organization');
    const missing = iamPolicy('--config', path.join(dir, 'nope.yaml'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.yaml: ENOENT');
  });
});
