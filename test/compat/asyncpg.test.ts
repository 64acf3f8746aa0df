/**
 * asyncpg (plain, pool, SQLAlchemy's async engine) and psycopg 3 pipeline mode, from Debian's packages, run by
 * Debian's python3 against the bridge and against a real PostgreSQL 15 given the same appflow tables. Both must
 * see the same: these clients send Flush rather than Sync and wait, so an error kept back until Sync hangs them.
 */
import { APPFLOW_DDL } from '../support/appflow-ddl.js';
import { createProfiles, startStack, type Stack } from '../support/stack.js';
import { runPython, startLocalPostgres, type LocalPostgres } from './harness.js';

const REGION = 'us-east-1';
let stack: Stack;
let pg: LocalPostgres;
let bridgeEnv: NodeJS.ProcessEnv;
let pgEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  [stack, pg] = await Promise.all([
    startStack({ regions: [REGION], bridgeArgs: ['--user', 'app', '--password', 'apg-pw'] }),
    startLocalPostgres(),
  ]);
  await createProfiles(stack.sdk(REGION), [
    { ConnectorProfileName: 'seeded', ConnectorType: 'Snowflake', ConnectionMode: 'Public' },
  ]);
  const ddl = await pg.psql(APPFLOW_DDL);
  if (ddl.status !== 0) throw new Error(ddl.stderr);
  bridgeEnv = {
    PGHOST: '127.0.0.1',
    PGPORT: String(stack.bridge.port),
    PGUSER: 'app',
    PGPASSWORD: 'apg-pw',
    PGDATABASE: 'aws',
  };
  pgEnv = {
    PGHOST: pg.dir,
    PGPORT: String(pg.port),
    PGUSER: 'postgres',
    PGPASSWORD: '',
    PGDATABASE: 'postgres',
  };
}, 180000);
afterAll(async () => {
  await pg?.stop();
  await stack?.stop();
});

describe('asyncpg', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let bridge: any, postgres: any;
  beforeAll(async () => {
    [bridge, postgres] = await Promise.all([
      runPython('asyncpg_client.py', bridgeEnv, [REGION]),
      runPython('asyncpg_client.py', pgEnv, [REGION]),
    ]);
  }, 240000);

  test('a typo in a query is an error, not a hang, and the connection goes on', () => {
    for (const out of [bridge, postgres]) {
      expect(out.typo_syntax).toEqual({ error: 'PostgresSyntaxError', sqlstate: '42601' });
      expect(out.typo_table).toEqual({ error: 'UndefinedTableError', sqlstate: '42P01' });
      expect(out.typo_column).toEqual({ error: 'UndefinedColumnError', sqlstate: '42703' });
      expect(out.after_typos).toBe(2);
    }
  });

  test('parameterised INSERT, executemany, UPDATE ... RETURNING and DELETE', () => {
    for (const out of [bridge, postgres]) {
      expect(out.insert).toBe('INSERT 0 1');
      expect(out.executemany).toBeNull();
      expect(out.inserted).toEqual([
        ['apg-one', 'Snowflake'],
        ['apg-three', 'Slack'],
        ['apg-two', 'Salesforce'],
      ]);
      expect(out.update_returning).toEqual([['apg-one', 'Private']]);
      expect(out.delete).toBe('DELETE 1');
      expect(out.after_writes).toEqual([
        ['apg-one', 'Private'],
        ['apg-two', 'Public'],
      ]);
    }
  });

  test('Cursor.forward() moves the protocol portal with MOVE by its name', () => {
    for (const out of [bridge, postgres]) expect(out.cursor_forward).toEqual([3, [4, 5], 2, 8]);
  });

  test('a pool: each release resets the connection (UNLISTEN *, RESET ALL) and it is acquired again', () => {
    for (const out of [bridge, postgres]) expect(out.pool).toEqual([0, '', 10, '', 20, '']);
  });

  test("SQLAlchemy's async engine over asyncpg: a bound query, and a typo that raises", () => {
    for (const out of [bridge, postgres])
      expect(out.sqlalchemy).toEqual({ names: ['apg-one', 'apg-two'], typo: '42P01' });
  });
});

describe('psycopg 3 pipeline mode', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let bridge: any, postgres: any;
  beforeAll(async () => {
    [bridge, postgres] = await Promise.all([
      runPython('psycopg3_pipeline_client.py', bridgeEnv, [REGION]),
      runPython('psycopg3_pipeline_client.py', pgEnv, [REGION]),
    ]);
  }, 120000);

  test('a failing statement fetched before Sync raises its error; the pipeline ends and the connection goes on', () => {
    // Where the error surfaces (the first fetch, or an execute that already read it) depends on when the results
    // arrive, on a real PostgreSQL too: what must hold is that it surfaces, once, rather than the client hanging.
    const undefinedTable = (seen: unknown[]) =>
      JSON.stringify(seen).match(/"UndefinedTable","42P01"/g)?.length ?? 0;
    expect(undefinedTable(postgres.pipeline)).toBe(1);
    expect(undefinedTable(bridge.pipeline)).toBe(1);
    for (const out of [bridge, postgres]) {
      // The rows the asyncpg suite above wrote.
      expect(out.pipeline_select).toEqual(['apg-one', 'apg-two']);
      expect(out.after_pipeline).toBe(4);
    }
  });
});
