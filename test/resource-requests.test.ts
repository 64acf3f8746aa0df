import { CreateResourceCommand } from '@aws-sdk/client-cloudcontrol';
import pg from 'pg';
import { catalog, resourceRequests } from '../catalog/index.js';
import { CloudControl } from '../server/cloudcontrol/client.js';
import { PgError } from '../server/errors.js';
import { loadParser, parseStatements } from '../server/plan/parse.js';
import { resolveKeys, tableReads } from '../server/plan/table-reads.js';
import { writeTarget } from '../server/plan/writes.js';
import { useFakeAwsEnvironment } from './support/processes.js';
import { psql } from './support/psql.js';
import { createProfiles, startStack, TYPE_NAME, type Stack } from './support/stack.js';

useFakeAwsEnvironment();

const region = 'eu-west-3';
const profile = (name: string) => ({
  ConnectorProfileName: name,
  ConnectorType: 'Salesforce',
  ConnectionMode: 'Public' as const,
});

describe('catalog and planner', () => {
  beforeAll(() => loadParser());
  const one = (sql: string) => {
    const stmts = parseStatements(sql);
    expect(stmts).toHaveLength(1);
    return stmts[0]!;
  };
  /** Each read's table and its keys resolved with these parameter values. */
  const reads = (sql: string, params: (string | null)[] = []) =>
    tableReads(one(sql), catalog).map((r) => ({
      table: `${r.table.schema}.${r.table.name}`,
      keys: resolveKeys(r, params),
    }));
  const requests = 'cloud_control.resource_requests';

  test('is a catalog table declared as data, with its key columns', () => {
    expect(catalog.table('cloud_control', 'resource_requests')).toBe(resourceRequests);
    expect(resourceRequests.kind).toBe('requests');
    expect(resourceRequests.columns.filter((c) => c.key).map((c) => c.name)).toEqual([
      'operation',
      'operation_status',
      'region',
      'account_id',
      'account_name',
    ]);
    expect(resourceRequests.columns.every((c) => c.description.length > 0)).toBe(true);
  });

  test('pins region, operation and operation_status from top-level AND conjuncts', () => {
    expect(
      reads(
        `SELECT * FROM cloud_control.resource_requests WHERE region = 'us-east-1' AND operation_status = 'IN_PROGRESS'`,
      ),
    ).toEqual([{ table: requests, keys: { region: ['us-east-1'], operation_status: ['IN_PROGRESS'] } }]);
    expect(
      reads(
        `SELECT * FROM cloud_control.resource_requests
          WHERE region IN ('us-east-1', 'eu-west-1') AND operation = ANY($1) AND operation_status = $2`,
        ['{CREATE,DELETE}', 'FAILED'],
      ),
    ).toEqual([
      {
        table: requests,
        keys: {
          region: ['us-east-1', 'eu-west-1'],
          operation: ['CREATE', 'DELETE'],
          operation_status: ['FAILED'],
        },
      },
    ]);
  });

  test('an OR, a negation or a function of the column pins nothing', () => {
    expect(
      reads(
        `SELECT * FROM cloud_control.resource_requests WHERE operation_status = 'FAILED' OR operation = 'CREATE'`,
      ),
    ).toEqual([{ table: requests, keys: {} }]);
    expect(
      reads(`SELECT * FROM cloud_control.resource_requests WHERE operation_status <> 'SUCCESS'`),
    ).toEqual([{ table: requests, keys: {} }]);
    expect(reads(`SELECT * FROM cloud_control.resource_requests WHERE lower(operation) = 'create'`)).toEqual([
      { table: requests, keys: {} },
    ]);
  });

  test('found in joins and subqueries, each side with its own keys', () => {
    expect(
      reads(`SELECT p.connector_profile_name, r.operation_status
               FROM appflow.connector_profiles p
               JOIN cloud_control.resource_requests r ON r.identifier = p.data__identifier AND r.operation = 'CREATE'
              WHERE p.region = 'us-east-1' AND r.region = 'us-east-1'`),
    ).toEqual([
      { table: 'appflow.connector_profiles', keys: { region: ['us-east-1'] } },
      { table: requests, keys: { region: ['us-east-1'], operation: ['CREATE'] } },
    ]);
    expect(
      reads(`SELECT * FROM appflow.connector_profiles WHERE region = 'us-east-1' AND data__identifier IN
               (SELECT identifier FROM cloud_control.resource_requests WHERE region = 'us-east-1' AND operation_status = 'FAILED')`),
    ).toEqual([
      { table: 'appflow.connector_profiles', keys: { region: ['us-east-1'] } },
      { table: requests, keys: { region: ['us-east-1'], operation_status: ['FAILED'] } },
    ]);
    // Unqualified: the name is unique to the cloud_control schema.
    expect(reads(`SELECT 1 FROM resource_requests WHERE region = 'us-east-1'`)).toEqual([
      { table: requests, keys: { region: ['us-east-1'] } },
    ]);
  });

  test('writes to it are refused with 0A000 before anything runs', () => {
    for (const sql of [
      `UPDATE cloud_control.resource_requests SET status_message = 'x' WHERE region = 'us-east-1'`,
      `DELETE FROM cloud_control.resource_requests WHERE region = 'us-east-1'`,
      `INSERT INTO cloud_control.resource_requests (region) VALUES ('us-east-1')`,
      `TRUNCATE cloud_control.resource_requests`,
    ]) {
      const err = (() => {
        try {
          writeTarget(one(sql), catalog);
        } catch (e) {
          return e;
        }
        return undefined;
      })() as PgError;
      expect(err).toBeInstanceOf(PgError);
      expect(err.code).toBe('0A000');
      expect(err.message).toMatch(
        /^cannot (UPDATE|DELETE|INSERT|TRUNCATE) cloud_control\.resource_requests: it is read-only$/,
      );
    }
    // Reading it while writing a resource table is fine.
    expect(
      writeTarget(
        one(`DELETE FROM appflow.connector_profiles p USING cloud_control.resource_requests r
              WHERE r.identifier = p.data__identifier AND r.operation_status = 'FAILED'`),
        catalog,
      )?.table.name,
    ).toBe('connector_profiles');
  });
});

describe('through the bridge', () => {
  let stack: Stack;
  const made: CloudControl[] = [];

  beforeAll(async () => {
    stack = await startStack({ regions: [region] });
  });
  afterAll(async () => {
    for (const c of made) c.destroy();
    await stack?.stop();
  });

  async function client(): Promise<pg.Client> {
    const c = new pg.Client(stack.pg);
    await c.connect();
    return c;
  }

  async function setFaults(faults: Record<string, unknown>): Promise<void> {
    const r = await fetch(`${stack.emulator.endpoint}/__admin/faults`, {
      method: 'POST',
      body: JSON.stringify(faults),
    });
    expect(r.status).toBe(200);
  }

  function cloud(defaultRegions: string[]): CloudControl {
    const cc = new CloudControl(
      { endpoint: stack.emulator.endpoint, defaultRegions, cacheTtlMs: 0 },
      catalog,
    );
    made.push(cc);
    return cc;
  }

  test('an INSERT shows up as a successful CREATE request', async () => {
    const c = await client();
    try {
      await c.query(
        `INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode)
         VALUES ($1, 'rr-ins', 'Zendesk', 'Public')`,
        [region],
      );
      const r = await c.query(
        `SELECT operation, operation_status, identifier, type_name, request_token IS NOT NULL AS has_token,
                event_time <= now() AS past
           FROM cloud_control.resource_requests WHERE region = $1 AND identifier = 'rr-ins'`,
        [region],
      );
      expect(r.rows).toEqual([
        {
          operation: 'CREATE',
          operation_status: 'SUCCESS',
          identifier: 'rr-ins',
          type_name: TYPE_NAME,
          has_token: true,
          past: true,
        },
      ]);
    } finally {
      await c.end();
    }
    // psql, with the server's default region.
    const p = psql(stack.pg, [
      `SELECT operation, operation_status, identifier FROM cloud_control.resource_requests WHERE identifier = 'rr-ins'`,
    ]);
    expect(p.stderr).toBe('');
    expect(p.stdout).toContain('CREATE|SUCCESS|rr-ins');
  });

  test('a request still running shows IN_PROGRESS, and the status filter narrows the list', async () => {
    await createProfiles(stack.sdk(region), [profile('rr-done')]);
    await setFaults({ completionDelayMs: 5000 });
    try {
      await stack.sdk(region).send(
        new CreateResourceCommand({
          TypeName: TYPE_NAME,
          DesiredState: JSON.stringify(profile('rr-slow')),
        }),
      );
      const r = psql(stack.pg, [
        `SELECT operation, operation_status, identifier FROM cloud_control.resource_requests
          WHERE region = '${region}' AND operation_status = 'IN_PROGRESS'`,
      ]);
      expect(r.stderr).toBe('');
      const rows = r.stdout.trim().split('\n').slice(1, -1);
      expect(rows).toContain('CREATE|IN_PROGRESS|rr-slow');
      expect(rows.every((row) => row.includes('|IN_PROGRESS|'))).toBe(true);

      // The filter reaches ListResourceRequests: fetchRows itself never filters these rows.
      const cc = cloud([region]);
      const inProgress = await cc.fetchRows(
        resourceRequests,
        { operation_status: ['IN_PROGRESS'] },
        () => {},
      );
      expect(inProgress.map((row) => row.identifier)).toContain('rr-slow');
      expect(inProgress.every((row) => row.operation_status === 'IN_PROGRESS')).toBe(true);
      const done = await cc.fetchRows(
        resourceRequests,
        { operation: ['CREATE'], operation_status: ['SUCCESS'] },
        () => {},
      );
      expect(done.map((row) => row.identifier)).toContain('rr-done');
      expect(done.map((row) => row.identifier)).not.toContain('rr-slow');
      // Values that are no operation or status, and empty pins, match nothing without a call failing.
      expect(await cc.fetchRows(resourceRequests, { operation_status: ['in_progress'] }, () => {})).toEqual(
        [],
      );
      expect(await cc.fetchRows(resourceRequests, { region: [] }, () => {})).toEqual([]);
    } finally {
      await setFaults({ completionDelayMs: 20 });
    }
  });

  test('no region to query is 22023, as for the resource tables', async () => {
    const err = (await cloud([])
      .fetchRows(resourceRequests, {}, () => {})
      .catch((e: unknown) => e)) as PgError;
    expect(err).toBeInstanceOf(PgError);
    expect(err.code).toBe('22023');
    expect(err.message).toMatch(/no AWS region to query/);
  });

  test('\\d+ and \\dt+ show the descriptions', () => {
    const d = psql(stack.pg, ['\\d+ cloud_control.resource_requests'], { aligned: true });
    expect(d.status).toBe(0);
    expect(d.stdout).toMatch(/operation_status\s+\|\s+text.*PENDING, IN_PROGRESS, SUCCESS, FAILED/);
    expect(d.stdout).toMatch(
      /event_time\s+\|\s+timestamp with time zone.*When the request last changed status\./,
    );
    expect(d.stdout).toMatch(/request_token\s+\|\s+text.*get-resource-request-status/);
    expect(d.stdout).toMatch(/region\s+\|\s+text.*AWS region the request was made in\./);
    const dt = psql(stack.pg, ['\\dt+ cloud_control.*']);
    expect(dt.stdout).toMatch(/cloud_control\|resource_requests\|table\|.*Cloud Control resource requests/);
  });

  test('joins with a resource table on identifier', async () => {
    await createProfiles(stack.sdk(region), [profile('rr-join-1'), profile('rr-join-2')]);
    const c = await client();
    try {
      const r = await c.query(
        `SELECT p.connector_profile_name, p.connector_type, r.operation, r.operation_status
           FROM appflow.connector_profiles p
           JOIN cloud_control.resource_requests r ON r.identifier = p.data__identifier AND r.region = p.region
          WHERE p.region = $1 AND r.region = $1 AND r.operation = 'CREATE' AND p.connector_profile_name LIKE 'rr-join-%'
          ORDER BY 1`,
        [region],
      );
      expect(r.rows).toEqual([
        {
          connector_profile_name: 'rr-join-1',
          connector_type: 'Salesforce',
          operation: 'CREATE',
          operation_status: 'SUCCESS',
        },
        {
          connector_profile_name: 'rr-join-2',
          connector_type: 'Salesforce',
          operation: 'CREATE',
          operation_status: 'SUCCESS',
        },
      ]);
    } finally {
      await c.end();
    }
  });

  test('UPDATE, DELETE and INSERT on it are refused with 0A000', async () => {
    const c = await client();
    try {
      for (const sql of [
        `UPDATE cloud_control.resource_requests SET operation_status = 'CANCEL_IN_PROGRESS' WHERE region = $1`,
        `DELETE FROM cloud_control.resource_requests WHERE region = $1`,
        `INSERT INTO cloud_control.resource_requests (region) VALUES ($1)`,
      ]) {
        const err = (await c.query(sql, [region]).catch((e: unknown) => e)) as pg.DatabaseError;
        expect(err).toBeInstanceOf(Error);
        expect(err.code).toBe('0A000');
        expect(err.message).toMatch(/cloud_control\.resource_requests: it is read-only/);
      }
      // The session is still usable.
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
    const p = psql(stack.pg, [`UPDATE cloud_control.resource_requests SET status_message = 'x'`]);
    expect(p.stderr).toMatch(/ERROR:\s+cannot UPDATE cloud_control\.resource_requests: it is read-only/);
  });
});
