import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CloudFormationClient,
  DescribeTypeCommand,
  ListTypesCommand,
  type ListTypesCommandInput,
} from '@aws-sdk/client-cloudformation';
import { startEmulator, type RunningEmulator } from '../emulator/index.js';
import { describeExtraTypes, parseExtraTypes } from '../catalog/registry/extra-types.js';
import { parseRefreshArgs } from '../catalog/registry/refresh-cli.js';
import { refreshRegistry } from '../catalog/registry/refresh.js';
import {
  provisioningTypeOf,
  readSnapshot,
  snapshotPath,
  type RegistrySchema,
} from '../catalog/registry/snapshot.js';
import { fakeAwsEnv, projectRoot, startEmulator as startEmulatorProcess } from './support/processes.js';

const shipped = readSnapshot();
const dir = mkdtempSync(path.join(tmpdir(), 'registry-refresh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the refresh CLI from dist/ as `npm run refresh-registry --` would; resolves with its exit and output. */
function runRefresh(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(projectRoot, 'dist/catalog/registry/refresh-main.js'), ...args],
      {
        cwd: projectRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** An environment with nothing of the caller's AWS setup in it: no profile, no config files, no metadata service. */
function isolatedEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return { ...env, HOME: dir, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (e) {
    const error = e as Error & { $metadata: { httpStatusCode?: number } };
    return { name: error.name, message: error.message, status: error.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('npm run refresh-registry against the emulator', () => {
  let emulator: Awaited<ReturnType<typeof startEmulatorProcess>>;
  beforeAll(async () => {
    emulator = await startEmulatorProcess(['--log-level', 'warn']);
  });
  afterAll(() => emulator?.stop());

  test('writes the shipped snapshot back: every provisionable type, deep-equal schemas, sorted', async () => {
    const out = path.join(dir, 'refreshed.json.gz');
    const run = await runRefresh(
      ['--endpoint', emulator.endpoint, '--region', 'us-east-1', '--out', out, '--concurrency', '8'],
      isolatedEnv(fakeAwsEnv),
    );
    expect(run.stderr).not.toContain(fakeAwsEnv.AWS_SECRET_ACCESS_KEY);
    expect(run.code).toBe(0);
    const provisionable = shipped.filter((s) => provisioningTypeOf(s) !== 'NON_PROVISIONABLE');
    expect(run.stdout).toContain(`${provisionable.length} resource types written to ${out}`);

    const refreshed = readSnapshot(out);
    // Same order, same schemas: the file holds the same data as the one the project ships.
    expect(refreshed.map((s) => s.typeName)).toEqual(provisionable.map((s) => s.typeName));
    expect(refreshed).toEqual(provisionable);
    // ListTypes' filter leaves out exactly the types Cloud Control cannot create.
    const left = shipped.filter((s) => !refreshed.some((r) => r.typeName === s.typeName));
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((s) => s.handlers?.create === undefined)).toBe(true);
  });

  test('without credentials it fails with the SDK reason and writes nothing', async () => {
    const out = path.join(dir, 'never.json.gz');
    const run = await runRefresh(['--endpoint', emulator.endpoint, '--out', out], isolatedEnv({}));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refresh-registry failed: .*credentials/i);
    expect(existsSync(out)).toBe(false);
  });

  test('a bad flag exits 2 with the usage', async () => {
    const run = await runRefresh(['--concurrency', 'lots'], isolatedEnv(fakeAwsEnv));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--concurrency needs a whole number');
    expect(run.stderr).toContain('Usage: npm run refresh-registry');
  });
});

test('npm run refresh-registry runs this CLI; the CloudFormation client is pinned like the Cloud Control one', () => {
  const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
  };
  expect(pkg.scripts['refresh-registry']).toBe(
    'npm run -s build && node dist/catalog/registry/refresh-main.js',
  );
  expect(pkg.dependencies['@aws-sdk/client-cloudformation']).toBe(
    pkg.dependencies['@aws-sdk/client-cloudcontrol'],
  );
});

describe('the flags', () => {
  test('default to AWS_REGION and the project snapshot of that region', () => {
    expect(parseRefreshArgs([], { AWS_REGION: 'eu-west-1' })).toEqual({
      region: 'eu-west-1',
      endpoint: undefined,
      out: snapshotPath('eu-west-1'),
      concurrency: undefined,
    });
    expect(parseRefreshArgs([], {}).out).toBe(snapshotPath('us-east-1'));
    expect(snapshotPath()).toBe(path.join(projectRoot, 'catalog/registry/schemas-us-east-1.json.gz'));
  });
  test('refuse what is not a region, a URL or a flag', () => {
    expect(() => parseRefreshArgs(['--region', 'US East'])).toThrow('is not a region');
    expect(() => parseRefreshArgs(['--endpoint', 'nowhere'])).toThrow('is not a URL');
    expect(() => parseRefreshArgs(['--out'])).toThrow('--out needs a value');
    expect(() => parseRefreshArgs(['--types', 'x'])).toThrow('unknown flag --types');
  });
});

describe('the emulated registry (ListTypes, DescribeType) through @aws-sdk/client-cloudformation', () => {
  let emulator: RunningEmulator;
  let client: CloudFormationClient;
  /** A small registry: one type of each provisioning type and a few more to page through. */
  const small: RegistrySchema[] = [
    ...shipped.filter((s) => provisioningTypeOf(s) === 'FULLY_MUTABLE').slice(0, 9),
    ...shipped.filter((s) => provisioningTypeOf(s) === 'IMMUTABLE').slice(0, 4),
    ...shipped.filter((s) => provisioningTypeOf(s) === 'NON_PROVISIONABLE').slice(0, 2),
  ];
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, logLevel: 'silent', registry: () => small });
    client = new CloudFormationClient({
      region: 'eu-west-1',
      endpoint: emulator.endpoint,
      credentials: {
        accessKeyId: fakeAwsEnv.AWS_ACCESS_KEY_ID,
        secretAccessKey: fakeAwsEnv.AWS_SECRET_ACCESS_KEY,
      },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await emulator?.close();
  });

  const publicTypes: ListTypesCommandInput = {
    Type: 'RESOURCE',
    Visibility: 'PUBLIC',
    ProvisioningType: 'FULLY_MUTABLE',
  };

  test('ListTypes pages with NextToken and filters by provisioning type', async () => {
    const names: string[] = [];
    const pages: number[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListTypesCommand({ ...publicTypes, MaxResults: 4, NextToken: token }),
      );
      pages.push(page.TypeSummaries!.length);
      names.push(...page.TypeSummaries!.map((t) => t.TypeName!));
      token = page.NextToken;
    } while (token);
    expect(pages).toEqual([4, 4, 1]);
    expect(names).toEqual(
      small
        .filter((s) => s.handlers?.update)
        .map((s) => s.typeName)
        .sort(),
    );
    const immutable = await client.send(
      new ListTypesCommand({ ...publicTypes, ProvisioningType: 'IMMUTABLE' }),
    );
    expect(immutable.TypeSummaries!.map((t) => t.TypeName)).toEqual(
      small.filter((s) => s.handlers?.create && !s.handlers.update).map((s) => s.typeName),
    );
    expect(immutable.NextToken).toBeUndefined();
    const first = immutable.TypeSummaries![0]!;
    expect(first.TypeArn).toBe(
      `arn:aws:cloudformation:eu-west-1::type/resource/${first.TypeName!.replace(/::/g, '-')}`,
    );
    expect(first.Description).toBe(small.find((s) => s.typeName === first.TypeName)!.description);
  });

  test('ListTypes lists no private or third-party types, and refuses a token of another query', async () => {
    const priv = await client.send(new ListTypesCommand({ ...publicTypes, Visibility: 'PRIVATE' }));
    expect(priv.TypeSummaries).toEqual([]);
    const thirdParty = await client.send(
      new ListTypesCommand({ ...publicTypes, Filters: { Category: 'THIRD_PARTY' } }),
    );
    expect(thirdParty.TypeSummaries).toEqual([]);
    const page = await client.send(new ListTypesCommand({ ...publicTypes, MaxResults: 2 }));
    const other = await rejection(
      client.send(
        new ListTypesCommand({ ...publicTypes, ProvisioningType: 'IMMUTABLE', NextToken: page.NextToken }),
      ),
    );
    expect(other).toEqual({ name: 'ValidationError', message: 'Invalid NextToken provided', status: 400 });
    const tooMany = await rejection(client.send(new ListTypesCommand({ ...publicTypes, MaxResults: 101 })));
    expect(tooMany.name).toBe('ValidationError');
  });

  test('DescribeType returns the schema as a string and the provisioning type its handlers imply', async () => {
    for (const schema of small) {
      const out = await client.send(new DescribeTypeCommand({ Type: 'RESOURCE', TypeName: schema.typeName }));
      expect(JSON.parse(out.Schema!)).toEqual(schema);
      const handlers = schema.handlers ?? {};
      expect(out.ProvisioningType).toBe(
        handlers.update ? 'FULLY_MUTABLE' : handlers.create ? 'IMMUTABLE' : 'NON_PROVISIONABLE',
      );
      expect(out.TypeName).toBe(schema.typeName);
      expect(out.Visibility).toBe('PUBLIC');
      // By ARN too.
      const byArn = await client.send(new DescribeTypeCommand({ Arn: out.Arn }));
      expect(byArn.TypeName).toBe(schema.typeName);
    }
  });

  test('DescribeType of an unknown type is TypeNotFoundException', async () => {
    const err = await rejection(
      client.send(new DescribeTypeCommand({ Type: 'RESOURCE', TypeName: 'AWS::Nothing::Here' })),
    );
    expect(err).toEqual({
      name: 'TypeNotFoundException',
      message: "The type 'AWS::Nothing::Here' cannot be found.",
      status: 404,
    });
  });

  test('the refresh retries throttled calls, as the SDK does, and still writes every type', async () => {
    emulator.setFaults({ throttleRps: 4 });
    const seen: string[] = [];
    const throttled = new CloudFormationClient({
      region: 'us-east-1',
      endpoint: emulator.endpoint,
      credentials: {
        accessKeyId: fakeAwsEnv.AWS_ACCESS_KEY_ID,
        secretAccessKey: fakeAwsEnv.AWS_SECRET_ACCESS_KEY,
      },
      maxAttempts: 20,
      retryMode: 'adaptive',
    });
    // Inside the retry loop: sees each attempt's error.
    throttled.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          seen.push((err as Error).name);
          throw err;
        }
      },
      { step: 'finalizeRequest', priority: 'low', name: 'recordErrors' },
    );
    const out = path.join(dir, 'throttled.json.gz');
    try {
      const result = await refreshRegistry({ region: 'us-east-1', out, client: throttled, concurrency: 8 });
      expect(result.typeNames).toHaveLength(13);
    } finally {
      throttled.destroy();
      emulator.setFaults({ throttleRps: 0 });
    }
    expect(seen).toContain('Throttling');
    expect(readSnapshot(out)).toEqual(
      small.filter((s) => s.handlers?.create).sort((a, b) => (a.typeName < b.typeName ? -1 : 1)),
    );
  });
});

describe('extra types (private and third-party, by name)', () => {
  const privateType: RegistrySchema = {
    typeName: 'MyOrg::Test::Widget',
    description: 'A private type activated in the account',
    properties: { Name: { type: 'string' }, Arn: { type: 'string' } },
    primaryIdentifier: ['/properties/Name'],
    readOnlyProperties: ['/properties/Arn'],
    handlers: { create: { permissions: [] }, read: { permissions: [] }, list: { permissions: [] } },
  };
  let emulator: RunningEmulator;
  beforeAll(async () => {
    // describeExtraTypes uses the SDK's default credential chain, as the server would.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: fakeAwsEnv.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: fakeAwsEnv.AWS_SECRET_ACCESS_KEY,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    emulator = await startEmulator({
      port: 0,
      logLevel: 'silent',
      registry: () => [...shipped, privateType],
    });
  });
  afterAll(() => emulator?.close());
  const options = () => ({ region: 'us-east-1', endpoint: emulator.endpoint });

  test('are read with DescribeType, in the order named', async () => {
    const names = parseExtraTypes(' MyOrg::Test::Widget, AWS::S3::Bucket,MyOrg::Test::Widget ');
    expect(names).toEqual(['MyOrg::Test::Widget', 'AWS::S3::Bucket']);
    const schemas = await describeExtraTypes(names, options());
    expect(schemas).toEqual([privateType, shipped.find((s) => s.typeName === 'AWS::S3::Bucket')]);
  });

  test('a name that is not a type, or a type the account lacks, fails with what to do', async () => {
    expect(() => parseExtraTypes('MyOrg::Widget')).toThrow(
      '--extra-types: "MyOrg::Widget" is not a resource type name (e.g. MyOrg::Service::Thing)',
    );
    await expect(describeExtraTypes(['MyOrg::Test::Missing'], options())).rejects.toThrow(
      '--extra-types: MyOrg::Test::Missing is not registered or activated in us-east-1; activate a public ' +
        'third-party type first (aws cloudformation activate-type), or check the name and region',
    );
  });
});
