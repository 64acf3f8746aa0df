import { InvalidRequestException, ListResourcesCommand } from '@aws-sdk/client-cloudcontrol';
import { createResources, queryOnce, startStack, TYPE_NAME, type Stack } from './support/stack.js';
import { failureOf } from './support/failure.js';

/**
 * Issue 10, "Right": live ListResources gives many types' primary identifier alone, so the collection tables read
 * each resource (GetResource) when, and only when, a statement reads a column the list does not give. Two
 * emulators, one listing identifiers only (its default, as live services do) and one listing whole models
 * (--list-full-model), must give the same rows; the emulator counts the calls.
 */
const regions = ['us-east-1', 'eu-west-1'];
const nodegroupType = 'AWS::EKS::Nodegroup';
let idOnly: Stack;
let full: Stack;

beforeAll(async () => {
  [idOnly, full] = await Promise.all([
    startStack({ regions }),
    startStack({ regions, emulatorArgs: ['--list-full-model', 'AWS::AppFlow::*,AWS::EKS::*'] }),
  ]);
  for (const stack of [idOnly, full]) {
    for (const region of regions) {
      await Promise.all([
        create(stack, region, TYPE_NAME, profile('slack-a', 'Slack', 'team')),
        create(stack, region, TYPE_NAME, profile('slack-b', 'Slack')),
        create(stack, region, TYPE_NAME, profile(`sf-${region}`, 'Salesforce', 'crm')),
      ]);
    }
    for (const [cluster, name] of [
      ['blue', 'workers'],
      ['blue', 'gpu'],
      ['green', 'workers'],
    ]) {
      await create(stack, 'us-east-1', nodegroupType, {
        ClusterName: cluster,
        NodegroupName: name,
        NodeRole: 'arn:aws:iam::123456789012:role/eks-nodes',
        Subnets: ['subnet-0123456789abcdef0'],
      });
    }
  }
}, 60000);

afterAll(() => Promise.all([idOnly?.stop(), full?.stop()]));

beforeEach(() => Promise.all([idOnly.resetCalls(), full.resetCalls()]));

function profile(name: string, type: string, label?: string) {
  return {
    ConnectorProfileName: name,
    ConnectorType: type,
    ConnectionMode: 'Public',
    ...(label !== undefined ? { ConnectorLabel: label } : {}),
  };
}

const create = (stack: Stack, region: string, typeName: string, desired: object) =>
  createResources(stack.sdk(region), typeName, [desired]);

const query = queryOnce;

const list = `ListResources ${TYPE_NAME}`;
const get = `GetResource ${TYPE_NAME}`;

describe('the emulator lists as live services do', () => {
  test('by default only the primary identifier; --list-full-model gives the whole read model', async () => {
    const listed = async (stack: Stack) => {
      const out = await stack.sdk('us-east-1').send(new ListResourcesCommand({ TypeName: TYPE_NAME }));
      return out.ResourceDescriptions!.map((d) => JSON.parse(d.Properties!) as Record<string, unknown>);
    };
    expect(await listed(idOnly)).toEqual([
      { ConnectorProfileName: 'sf-us-east-1' },
      { ConnectorProfileName: 'slack-a' },
      { ConnectorProfileName: 'slack-b' },
    ]);
    const whole = await listed(full);
    expect(whole.map((m) => m.ConnectorProfileName)).toEqual(['sf-us-east-1', 'slack-a', 'slack-b']);
    expect(whole[1]).toMatchObject({
      ConnectorType: 'Slack',
      ConnectionMode: 'Public',
      ConnectorLabel: 'team',
    });
    expect(whole[1]!.ConnectorProfileArn).toMatch(/^arn:aws:appflow:us-east-1:/);
  });

  test('a list handler that needs a parent answers the live error without it, and lists that parent with it', async () => {
    const sdk = idOnly.sdk('us-east-1');
    const err = await sdk
      .send(new ListResourcesCommand({ TypeName: nodegroupType }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestException);
    expect((err as Error).message).toBe(
      'Missing or invalid ResourceModel property in AWS::EKS::Nodegroup list handler request input.' +
        'Required property: (#: required key [ClusterName] not found)',
    );
    const out = await sdk.send(
      new ListResourcesCommand({
        TypeName: nodegroupType,
        ResourceModel: JSON.stringify({ ClusterName: 'blue' }),
      }),
    );
    expect(out.ResourceDescriptions).toHaveLength(2);
    // Identifier only: the nodegroup's Id.
    expect(out.ResourceDescriptions!.map((d) => Object.keys(JSON.parse(d.Properties!) as object))).toEqual([
      ['Id'],
      ['Id'],
    ]);
  });
});

describe('collection tables never show NULL for what GetResource returns', () => {
  const everything = 'SELECT * FROM appflow.connector_profiles ORDER BY region, data__identifier';

  test('SELECT * gives the same rows whether the list gives identifiers or whole models', async () => {
    const [a, b] = await Promise.all([query(idOnly, everything), query(full, everything)]);
    expect(a.rows).toHaveLength(6);
    // One list per region, then each listed resource read.
    expect(await idOnly.calls()).toMatchObject({ [list]: 2, [get]: 6 });
    // Each emulator ends a secret's ARN with its own random suffix.
    const same = (rows: Record<string, unknown>[]) =>
      rows.map((r) => ({ ...r, credentials_arn: String(r.credentials_arn).replace(/-[0-9a-f]{6}$/, '-') }));
    expect(same(a.rows)).toEqual(same(b.rows));
    // The values are GetResource's.
    const truth = await idOnly.awsModel('us-east-1', 'slack-a');
    expect(a.rows.find((r) => r.data__identifier === 'slack-a' && r.region === 'us-east-1')).toMatchObject({
      credentials_arn: truth!.CredentialsArn,
      connector_profile_arn: truth!.ConnectorProfileArn,
    });
    expect(
      a.rows.find((r) => r.connector_profile_name === 'slack-a' && r.region === 'us-east-1'),
    ).toMatchObject({
      connector_type: 'Slack',
      connection_mode: 'Public',
      connector_label: 'team',
    });
    expect(a.rows.every((r) => typeof r.connector_profile_arn === 'string')).toBe(true);
  });

  test('a filter on a column the list lacks gives the same rows in both modes', async () => {
    const sql = `SELECT region, connector_profile_name FROM appflow.connector_profiles
                 WHERE connector_type = 'Slack' AND connector_label IS NULL ORDER BY 1, 2`;
    const [a, b] = await Promise.all([query(idOnly, sql), query(full, sql)]);
    expect(a.rows).toEqual([
      { region: 'eu-west-1', connector_profile_name: 'slack-b' },
      { region: 'us-east-1', connector_profile_name: 'slack-b' },
    ]);
    expect(b.rows).toEqual(a.rows);
  });

  test('a whole-row reference reads every column', async () => {
    const r = await query(
      idOnly,
      `SELECT to_jsonb(p) ->> 'connector_type' AS t FROM appflow.connector_profiles p
       WHERE region = 'us-east-1' AND data__identifier = 'slack-a'`,
    );
    expect(r.rows).toEqual([{ t: 'Slack' }]);
    expect(await idOnly.calls()).toMatchObject({ [list]: 1, [get]: 1 });
  });

  test('identifier columns alone: one ListResources per region and no GetResource', async () => {
    const r = await query(idOnly, 'SELECT connector_profile_name FROM appflow.connector_profiles ORDER BY 1');
    expect(r.rows.map((x) => x.connector_profile_name)).toEqual([
      'sf-eu-west-1',
      'sf-us-east-1',
      'slack-a',
      'slack-a',
      'slack-b',
      'slack-b',
    ]);
    const calls = await idOnly.calls();
    expect(calls[list]).toBe(2);
    expect(calls.GetResource).toBeUndefined();

    await idOnly.resetCalls();
    const n = await query(
      idOnly,
      `SELECT count(*)::int AS n, count(DISTINCT region)::int AS r FROM appflow.connector_profiles`,
    );
    expect(n.rows).toEqual([{ n: 6, r: 2 }]);
    expect((await idOnly.calls()).GetResource).toBeUndefined();
  });
});

describe('list handlers that need a parent', () => {
  test('the parent pinned in WHERE is sent as ResourceModel, one list per value', async () => {
    const r = await query(
      idOnly,
      `SELECT cluster_name, nodegroup_name FROM eks.nodegroups
       WHERE region = 'us-east-1' AND cluster_name IN ('blue', 'green') ORDER BY 1, 2`,
    );
    expect(r.rows).toEqual([
      { cluster_name: 'blue', nodegroup_name: 'gpu' },
      { cluster_name: 'blue', nodegroup_name: 'workers' },
      { cluster_name: 'green', nodegroup_name: 'workers' },
    ]);
    // nodegroup_name is not in the list (only Id is): each nodegroup is read.
    expect(await idOnly.calls()).toMatchObject({
      [`ListResources ${nodegroupType}`]: 2,
      [`GetResource ${nodegroupType}`]: 3,
    });

    await idOnly.resetCalls();
    const ids = await query(
      idOnly,
      `SELECT cluster_name, id FROM eks.nodegroups WHERE region = 'us-east-1' AND cluster_name = $1`,
      ['green'],
    );
    expect(ids.rows).toHaveLength(1);
    expect(ids.rows[0].cluster_name).toBe('green');
    expect((await idOnly.calls())[`GetResource ${nodegroupType}`]).toBeUndefined();

    const [a, b] = await Promise.all(
      [idOnly, full].map((s) =>
        query(s, `SELECT * FROM eks.nodegroups WHERE cluster_name = 'blue' ORDER BY nodegroup_name`),
      ),
    );
    expect(a.rows.map((x) => [x.nodegroup_name, x.node_role])).toEqual([
      ['gpu', 'arn:aws:iam::123456789012:role/eks-nodes'],
      ['workers', 'arn:aws:iam::123456789012:role/eks-nodes'],
    ]);
    expect(b.rows.map((x) => x.nodegroup_name)).toEqual(['gpu', 'workers']);
  });

  test('without the parent pinned: 22023 naming the column to add, before any call', async () => {
    for (const sql of [
      'SELECT * FROM eks.nodegroups',
      `SELECT nodegroup_name FROM eks.nodegroups WHERE cluster_name LIKE 'b%'`,
      `SELECT * FROM eks.nodegroup WHERE region = 'us-east-1'`,
    ]) {
      const err = await failureOf(query(idOnly, sql));
      expect(err.code).toBe('22023');
      expect(err.message).toMatch(
        /^eks\.nodegroups? needs cluster_name in WHERE: Cloud Control lists AWS::EKS::Nodegroup/,
      );
      expect(err.hint).toContain("WHERE cluster_name = '...'");
    }
    expect(await idOnly.calls()).toEqual({});
  });
});

describe('EXPLAIN shows the Cloud Control calls and sends none', () => {
  /** The plan's Cloud Control lines (they follow the engine's plan, whose first line keeps its costs). */
  const explain = async (stack: Stack | { pg: Stack['pg'] }, sql: string) => {
    const lines = (await query(stack as Stack, `EXPLAIN ${sql}`)).rows.map(
      (r: Record<string, string>) => r['QUERY PLAN']!,
    );
    expect(lines[0]).toMatch(/\(cost=[\d.]+\.\.[\d.]+ rows=\d+ width=\d+\)$/);
    return lines.slice(lines.findIndex((l) => l.startsWith('Cloud Control:')));
  };

  test('lists, reads of each listed resource, reads by identifier, after the engine plan', async () => {
    const names = await explain(idOnly, 'SELECT connector_profile_name FROM appflow.connector_profiles');
    expect(names.slice(0, 3)).toEqual([
      'Cloud Control: appflow.connector_profiles',
      `  ListResources ${TYPE_NAME} in us-east-1 (all pages)`,
      `  ListResources ${TYPE_NAME} in eu-west-1 (all pages)`,
    ]);

    const all = await explain(idOnly, `SELECT * FROM appflow.connector_profiles WHERE region = 'us-east-1'`);
    expect(all.slice(0, 3)).toEqual([
      'Cloud Control: appflow.connector_profiles',
      `  ListResources ${TYPE_NAME} in us-east-1 (all pages)`,
      `    then GetResource ${TYPE_NAME} in us-east-1 for each resource listed`,
    ]);

    const byId = await explain(
      idOnly,
      `SELECT * FROM appflow.connector_profile WHERE region = 'eu-west-1' AND data__identifier IN ('slack-a', 'x')`,
    );
    expect(byId[1]).toBe(`  2 × GetResource ${TYPE_NAME} in eu-west-1: "slack-a", "x"`);

    const parent = await explain(idOnly, `SELECT * FROM eks.nodegroups WHERE cluster_name = 'blue'`);
    expect(parent.slice(0, 3)).toEqual([
      'Cloud Control: eks.nodegroups',
      `  ListResources ${nodegroupType} in us-east-1 ResourceModel {"ClusterName":"blue"} (all pages)`,
      `    then GetResource ${nodegroupType} in us-east-1 for each resource listed`,
    ]);
    expect(await idOnly.calls()).toEqual({});
  });

  test('a read the statement would refuse is refused by its EXPLAIN too', async () => {
    const err = await failureOf(query(idOnly, 'EXPLAIN SELECT nodegroup_name FROM eks.nodegroups'));
    expect(err.code).toBe('22023');
    expect(err.message).toContain('needs cluster_name in WHERE');
  });

  test('what the read cache holds is marked cached', async () => {
    const bridge = await idOnly.startBridge(['--cache-ttl-ms', '600000']);
    const stack = { pg: { ...idOnly.pg, port: bridge.port } };
    try {
      await query(
        stack as Stack,
        `SELECT connector_profile_name FROM appflow.connector_profiles WHERE region = 'us-east-1'`,
      );
      const sql = `SELECT * FROM appflow.connector_profiles WHERE region = 'us-east-1'`;
      expect((await explain(stack, sql)).slice(1, 3)).toEqual([
        `  ListResources ${TYPE_NAME} in us-east-1 (all pages) (cached: 3 listed)`,
        `    then 3 × GetResource ${TYPE_NAME} in us-east-1: "sf-us-east-1", "slack-a", "slack-b"`,
      ]);
      await query(stack as Stack, sql);
      expect((await explain(stack, sql))[2]).toBe(
        `    then 3 × GetResource ${TYPE_NAME} in us-east-1: "sf-us-east-1", "slack-a", "slack-b" (cached)`,
      );
    } finally {
      await bridge.stop();
    }
  });
});
