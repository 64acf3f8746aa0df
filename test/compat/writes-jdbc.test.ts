/**
 * pgjdbc executeUpdate (autocommit on, and in a committed transaction), then the change read back through
 * SQL and through Cloud Control. Depends on the bridge's UPDATE -> UpdateResource path.
 */
import path from 'node:path';
import { GetResourceCommand } from '@aws-sdk/client-cloudcontrol';
import { createProfiles, startStack, TYPE_NAME, type Stack } from '../support/stack.js';
import { clientsDir, EAST, JDBC_JAR, run } from './harness.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ regions: ['us-east-1'], bridgeArgs: ['--user', 'bi', '--password', 'bi-pw'] });
  await createProfiles(stack.sdk('us-east-1'), EAST);
}, 120000);
afterAll(() => stack?.stop());

async function properties(name: string) {
  const r = await stack
    .sdk('us-east-1')
    .send(new GetResourceCommand({ TypeName: TYPE_NAME, Identifier: name }));
  return JSON.parse(r.ResourceDescription!.Properties!) as Record<string, unknown>;
}

test('executeUpdate returns the row count and Cloud Control has the change', async () => {
  const r = await run('java', [
    '-cp',
    JDBC_JAR,
    path.join(clientsDir, 'JdbcClient.java'),
    `jdbc:postgresql://127.0.0.1:${stack.bridge.port}/aws`,
    'bi',
    'bi-pw',
    'write',
  ]);
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ updated: 1, after: 'Private', updatedInTransaction: 1 });
  expect(await properties('snowflake-dw')).toMatchObject({ ConnectionMode: 'Private' });
  expect(await properties('sf-sandbox')).toMatchObject({ ConnectionMode: 'Public' });
}, 120000);
