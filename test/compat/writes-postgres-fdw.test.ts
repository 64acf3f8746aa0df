/**
 * postgres_fdw UPDATE: a statement whose WHERE and SET are all shippable is sent to the bridge whole
 * ("Foreign Update", one remote UPDATE), and the bridge turns it into UpdateResource. Depends on the
 * bridge's write path.
 */
import { GetResourceCommand } from '@aws-sdk/client-cloudcontrol';
import { createProfiles, startStack, TYPE_NAME, type Stack } from '../support/stack.js';
import { docRecipe, EAST, startLocalPostgres, type LocalPostgres } from './harness.js';

let stack: Stack;
let pg: LocalPostgres;

beforeAll(async () => {
  [stack, pg] = await Promise.all([
    startStack({ regions: ['us-east-1'], bridgeArgs: ['--password', 'fdw-pw'] }),
    startLocalPostgres(),
  ]);
  await createProfiles(stack.sdk('us-east-1'), EAST);
  const setup = await pg.psql(
    docRecipe('CREATE SERVER aws_bridge')
      .replace("port '5433'", `port '${stack.bridge.port}'`)
      .replace("password 'choose-one'", "password 'fdw-pw'"),
  );
  if (setup.status !== 0) throw new Error(`postgres_fdw setup failed:\n${setup.stderr}`);
}, 180000);
afterAll(async () => {
  await pg?.stop();
  await stack?.stop();
});

const lines = (out: string) => out.split('\n').filter((l) => l !== '');

test('UPDATE ... WHERE region AND data__identifier is pushed down whole and changes the resource', async () => {
  const sql =
    "UPDATE aws_appflow.connector_profile SET connection_mode = 'Private' WHERE region = 'us-east-1' AND data__identifier = 'sf-prod'";
  const plan = await pg.psql(`EXPLAIN (VERBOSE, COSTS OFF) ${sql};`);
  expect(lines(plan.stdout)).toEqual([
    'QUERY PLAN',
    'Update on aws_appflow.connector_profile',
    '  ->  Foreign Update on aws_appflow.connector_profile',
    "        Remote SQL: UPDATE appflow.connector_profile SET connection_mode = 'Private'::text WHERE ((region = 'us-east-1')) AND ((data__identifier = 'sf-prod'))",
    '(3 rows)',
  ]);
  const r = await pg.psql(`${sql};\n`, { tags: true });
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('UPDATE 1\n');
  const second = await pg.psql(
    "UPDATE aws_appflow.connector_profile SET connection_mode = 'Private' WHERE region = 'us-east-1' AND data__identifier = 'snowflake-dw';\n",
    { tags: true },
  );
  expect(second.stderr).toBe('');
  expect(second.stdout).toBe('UPDATE 1\n');

  const read = await pg.psql(
    "SELECT data__identifier, connection_mode FROM aws_appflow.connector_profile WHERE region = 'us-east-1' AND data__identifier IN ('sf-prod', 'snowflake-dw') ORDER BY 1;\n",
  );
  expect(lines(read.stdout)).toEqual([
    'data__identifier|connection_mode',
    'sf-prod|Private',
    'snowflake-dw|Private',
    '(2 rows)',
  ]);
  for (const name of ['sf-prod', 'snowflake-dw']) {
    const got = await stack
      .sdk('us-east-1')
      .send(new GetResourceCommand({ TypeName: TYPE_NAME, Identifier: name }));
    expect(JSON.parse(got.ResourceDescription!.Properties!)).toMatchObject({ ConnectionMode: 'Private' });
  }
}, 120000);
