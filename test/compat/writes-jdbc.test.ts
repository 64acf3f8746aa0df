/**
 * pgjdbc executeUpdate (autocommit on, and in a committed transaction), then the change read back through
 * SQL and through Cloud Control. Depends on the bridge's UPDATE -> UpdateResource path.
 */
import { createProfiles, startStack, type Stack } from '../support/stack.js';
import { EAST, runJdbcClient } from './harness.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ regions: ['us-east-1'], bridgeArgs: ['--user', 'bi', '--password', 'bi-pw'] });
  await createProfiles(stack.sdk('us-east-1'), EAST);
}, 120000);
afterAll(() => stack?.stop());

const properties = (name: string) => stack.awsModel('us-east-1', name);

test('executeUpdate returns the row count and Cloud Control has the change', async () => {
  const r = await runJdbcClient(stack.bridge.port, 'write');
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ updated: 1, after: 'Private', updatedInTransaction: 1 });
  expect(await properties('snowflake-dw')).toMatchObject({ ConnectionMode: 'Private' });
  expect(await properties('sf-sandbox')).toMatchObject({ ConnectionMode: 'Public' });
}, 120000);
