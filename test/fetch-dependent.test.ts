import { CreateResourceCommand, GetResourceRequestStatusCommand } from '@aws-sdk/client-cloudcontrol';
import pg from 'pg';
import { createProfiles, queryOnce, startStack, TYPE_NAME, type Stack } from './support/stack.js';

/**
 * Issue 10, "Cheap": a table whose keys a join or `IN (SELECT ...)` pins to another table's rows reads the driving
 * table first, then only the resources those rows name (GetResource per distinct key), not list + read of all.
 * 500 connector profiles and 5 flows; the emulator counts the calls.
 */
const regions = ['us-east-1', 'eu-west-1'];
const FLOW = 'AWS::AppFlow::Flow';
const getProfile = `GetResource ${TYPE_NAME}`;
const listProfiles = `ListResources ${TYPE_NAME}`;
let stack: Stack;

/** Flow name -> the connector profile it reads from; `gone` names no profile. */
const flows: Record<string, string> = {
  'flow-a': 'profile-007',
  'flow-b': 'profile-123',
  'flow-c': 'profile-123',
  'flow-d': 'profile-499',
  'flow-e': 'gone',
};

beforeAll(async () => {
  stack = await startStack({ regions });
  const names = Array.from({ length: 500 }, (_, i) => `profile-${String(i).padStart(3, '0')}`);
  await createProfiles(
    stack.sdk('us-east-1'),
    names.map((name, i) => ({
      ConnectorProfileName: name,
      ConnectorType: i % 2 ? 'Slack' : 'Salesforce',
      ConnectionMode: 'Public',
    })),
  );
  // The same names in another region, where no flow is.
  await createProfiles(
    stack.sdk('eu-west-1'),
    ['profile-007', 'profile-123'].map((name) => ({
      ConnectorProfileName: name,
      ConnectorType: 'Slack',
      ConnectionMode: 'Public',
    })),
  );
  await Promise.all(Object.entries(flows).map(([flow, profile]) => createFlow(flow, profile)));
}, 120000);

afterAll(() => stack?.stop());

beforeEach(() => stack.resetCalls());

async function createFlow(name: string, profile: string): Promise<void> {
  const sdk = stack.sdk('us-east-1');
  const desired = {
    FlowName: name,
    TriggerConfig: { TriggerType: 'OnDemand' },
    SourceFlowConfig: {
      ConnectorType: 'Slack',
      ConnectorProfileName: profile,
      SourceConnectorProperties: { Slack: { Object: 'conversations' } },
    },
    DestinationFlowConfigList: [
      { ConnectorType: 'S3', DestinationConnectorProperties: { S3: { BucketName: 'flows-out' } } },
    ],
    Tasks: [{ SourceFields: ['text'], TaskType: 'Filter', ConnectorOperator: { Slack: 'PROJECTION' } }],
  };
  const { ProgressEvent } = await sdk.send(
    new CreateResourceCommand({ TypeName: FLOW, DesiredState: JSON.stringify(desired) }),
  );
  for (;;) {
    const { ProgressEvent: p } = await sdk.send(
      new GetResourceRequestStatusCommand({ RequestToken: ProgressEvent!.RequestToken! }),
    );
    if (p!.OperationStatus === 'SUCCESS') return;
    if (p!.OperationStatus === 'FAILED') throw new Error(`create flow ${name}: ${p!.StatusMessage}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const query = (sql: string, params: unknown[] = []) => queryOnce(stack, sql, params);

const columns = `f.flow_name, p.region, p.connector_profile_name, p.connector_type, p.connector_profile_arn`;
const joinOn = `p.region = f.region AND p.data__identifier = f.source_flow_config->>'ConnectorProfileName'`;
/** The join the planner pins, and the same join over an opaque subquery, which it cannot: the full plan. */
const pinnedJoin = `SELECT ${columns} FROM appflow.flows f JOIN appflow.connector_profile p ON ${joinOn} ORDER BY 1`;
const fullJoin = `SELECT ${columns} FROM appflow.flows f
  JOIN (SELECT * FROM appflow.connector_profile OFFSET 0) p ON ${joinOn} ORDER BY 1`;

describe('keys pinned by another table’s rows', () => {
  test('a join reads the flows, then GetResource per distinct profile they name: the full plan’s rows', async () => {
    const pinned = await query(pinnedJoin);
    const calls = await stack.calls();
    // profile-007, profile-123 (two flows), profile-499, gone (no row): 4 distinct keys, in us-east-1 only.
    expect(calls[getProfile]).toBe(4);
    expect(calls[listProfiles]).toBeUndefined();
    expect(
      pinned.rows.map((r) => [r.flow_name, r.region, r.connector_profile_name, r.connector_type]),
    ).toEqual([
      ['flow-a', 'us-east-1', 'profile-007', 'Slack'],
      ['flow-b', 'us-east-1', 'profile-123', 'Slack'],
      ['flow-c', 'us-east-1', 'profile-123', 'Slack'],
      ['flow-d', 'us-east-1', 'profile-499', 'Slack'],
    ]);

    await stack.resetCalls();
    const full = await query(fullJoin);
    // Unpinned: each region listed (every page), each of the 502 profiles read.
    const fullCalls = await stack.calls();
    expect(fullCalls[getProfile]).toBe(502);
    expect(fullCalls[listProfiles]).toBeGreaterThanOrEqual(2);
    expect(pinned.rows).toEqual(full.rows);
  }, 60000);

  test('a collection table lists, then reads only the listed profiles that have a key', async () => {
    const sql = (profiles: string) =>
      `SELECT f.flow_name, p.connector_type FROM appflow.flows f JOIN ${profiles} p ON ${joinOn} ORDER BY 1`;
    const pinned = await query(sql('appflow.connector_profiles'));
    const calls = await stack.calls();
    expect(calls[getProfile]).toBe(3);
    expect(calls[listProfiles]).toBeGreaterThanOrEqual(1);
    await stack.resetCalls();
    const full = await query(sql('(SELECT * FROM appflow.connector_profiles OFFSET 0)'));
    expect((await stack.calls())[getProfile]).toBe(502);
    expect(pinned.rows).toEqual(full.rows);
    expect(pinned.rows).toHaveLength(4);
  }, 60000);

  test('an outer join keeps every flow; the profiles it reads are still only those named', async () => {
    const r = await query(
      `SELECT f.flow_name, p.connector_type FROM appflow.flows f
       LEFT JOIN appflow.connector_profile p ON ${joinOn} ORDER BY 1`,
    );
    expect(r.rows.map((x) => [x.flow_name, x.connector_type])).toEqual([
      ['flow-a', 'Slack'],
      ['flow-b', 'Slack'],
      ['flow-c', 'Slack'],
      ['flow-d', 'Slack'],
      ['flow-e', null],
    ]);
    expect((await stack.calls())[getProfile]).toBe(4);
  });

  test('IN (SELECT ...): the subquery’s values pin the identifier, in each region the WHERE allows', async () => {
    const inSub = (region: string) =>
      `SELECT region, connector_profile_name, connector_type FROM appflow.connector_profile p
       WHERE ${region} p.data__identifier IN
         (SELECT f.source_flow_config->>'ConnectorProfileName' FROM appflow.flows f WHERE f.flow_name <> 'flow-b')
       ORDER BY 1, 2`;
    const one = await query(inSub(`p.region = 'us-east-1' AND`));
    expect(one.rows).toEqual([
      { region: 'us-east-1', connector_profile_name: 'profile-007', connector_type: 'Slack' },
      { region: 'us-east-1', connector_profile_name: 'profile-123', connector_type: 'Slack' },
      { region: 'us-east-1', connector_profile_name: 'profile-499', connector_type: 'Slack' },
    ]);
    expect((await stack.calls())[getProfile]).toBe(4);

    await stack.resetCalls();
    const both = await query(inSub(''));
    // No region pinned: each key in each of the server's regions; eu-west-1 has two of them.
    expect((await stack.calls())[getProfile]).toBe(8);
    expect(both.rows.map((r) => [r.region, r.connector_profile_name])).toEqual([
      ['eu-west-1', 'profile-007'],
      ['eu-west-1', 'profile-123'],
      ['us-east-1', 'profile-007'],
      ['us-east-1', 'profile-123'],
      ['us-east-1', 'profile-499'],
    ]);
  });

  test('no driving row: no profile read', async () => {
    const r = await query(
      `SELECT p.connector_profile_name FROM appflow.flows f JOIN appflow.connector_profile p ON ${joinOn}
       WHERE f.region = 'eu-west-1'`,
    );
    expect(r.rows).toEqual([]);
    expect((await stack.calls())[getProfile]).toBeUndefined();
  });
});

describe('EXPLAIN and EXPLAIN ANALYZE', () => {
  const planOf = async (sql: string) =>
    (await query(sql)).rows.map((r: Record<string, string>) => r['QUERY PLAN']!);

  test('EXPLAIN shows the reads per key from the driving table, and sends no call', async () => {
    const lines = await planOf(`EXPLAIN ${pinnedJoin}`);
    expect(lines[0]).toMatch(/\(cost=[\d.]+\.\.[\d.]+ rows=\d+ width=\d+\)$/);
    const cc = lines.slice(lines.findIndex((l) => l.startsWith('Cloud Control:')));
    expect(cc).toEqual([
      'Cloud Control: appflow.flows',
      `  ListResources ${FLOW} in us-east-1 (all pages)`,
      `    then GetResource ${FLOW} in us-east-1 for each resource listed`,
      `  ListResources ${FLOW} in eu-west-1 (all pages)`,
      `    then GetResource ${FLOW} in eu-west-1 for each resource listed`,
      'Cloud Control: appflow.connector_profile',
      `  keys from appflow.flows (appflow.flows AS f): region = f.region, data__identifier = f.source_flow_config ->> 'ConnectorProfileName'`,
      `    GetResource ${TYPE_NAME} per distinct key, in each key's region (after appflow.flows is read, over 500 keys read as without them)`,
    ]);
    const collection = await planOf(
      `EXPLAIN SELECT p.connector_type FROM appflow.flows f JOIN appflow.connector_profiles p ON ${joinOn}`,
    );
    expect(collection.slice(collection.indexOf('Cloud Control: appflow.connector_profiles'))).toEqual([
      'Cloud Control: appflow.connector_profiles',
      `  keys from appflow.flows (appflow.flows AS f): region = f.region, data__identifier = f.source_flow_config ->> 'ConnectorProfileName'`,
      `    ListResources ${TYPE_NAME} in each key's region (all pages; after appflow.flows is read, over 500 keys read as without them)`,
      `      then GetResource ${TYPE_NAME} for each resource listed that has a key`,
    ]);
    expect(await stack.calls()).toEqual({});
  });

  test('EXPLAIN ANALYZE runs the statement and shows the calls made, with counts and times', async () => {
    const lines = await planOf(`EXPLAIN ANALYZE ${pinnedJoin}`);
    expect(lines.some((l) => /actual time=/.test(l) && !l.startsWith('Cloud Control'))).toBe(true);
    const cc = lines.slice(lines.findIndex((l) => l.startsWith('Cloud Control:')));
    const ms = String.raw`\d+\.\d`;
    expect(cc).toHaveLength(6);
    expect(cc[0]).toMatch(
      new RegExp(String.raw`^Cloud Control: appflow\.flows \(actual time=${ms} ms, calls=7\)$`),
    );
    expect(cc.slice(1, 4).sort().join('\n')).toMatch(
      new RegExp(
        [
          String.raw`^  GetResource ${FLOW} in us-east-1: 5 sent, ${ms}\.\.${ms} ms each`,
          String.raw`  ListResources ${FLOW} in eu-west-1: 1 sent, ${ms}\.\.${ms} ms each`,
          String.raw`  ListResources ${FLOW} in us-east-1: 1 sent, ${ms}\.\.${ms} ms each$`,
        ].join('\n'),
      ),
    );
    expect(cc[4]).toMatch(
      new RegExp(
        String.raw`^Cloud Control: appflow\.connector_profile \(actual time=${ms} ms, calls=4, keys from other tables' rows=4\)$`,
      ),
    );
    expect(cc[5]).toMatch(
      new RegExp(
        String.raw`^  GetResource ${TYPE_NAME} in us-east-1: 4 sent, 1 not found, ${ms}\.\.${ms} ms each$`,
      ),
    );
    // It ran: the calls it shows are the calls made.
    expect(await stack.calls()).toMatchObject({ [getProfile]: 4, [`GetResource ${FLOW}`]: 5 });
    expect((await planOf('EXPLAIN ANALYZE SELECT 1')).at(-1)).toBe('Cloud Control: no call');
  });

  test('EXPLAIN ANALYZE marks the reads the read cache answered', async () => {
    const bridge = await stack.startBridge(['--cache-ttl-ms', '600000']);
    const c = new pg.Client({ ...stack.pg, port: bridge.port });
    await c.connect();
    try {
      const sql = `EXPLAIN ANALYZE SELECT connector_type FROM appflow.connector_profile
                   WHERE region = 'us-east-1' AND data__identifier IN ('profile-001', 'profile-002')`;
      await c.query(sql);
      const lines = (await c.query(sql)).rows.map((r: Record<string, string>) => r['QUERY PLAN']!);
      const cc = lines.slice(lines.findIndex((l) => l.startsWith('Cloud Control:')));
      expect(cc).toHaveLength(2);
      expect(cc[0]).toMatch(
        /^Cloud Control: appflow\.connector_profile \(actual time=\d+\.\d ms, calls=0\)$/,
      );
      expect(cc[1]).toBe(`  GetResource ${TYPE_NAME} in us-east-1: 0 sent, 2 cached`);
    } finally {
      await c.end();
      await bridge.stop();
    }
  });
});
