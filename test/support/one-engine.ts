import pg from 'pg';
import { createResources, startStack, TYPE_NAME, type Stack } from './stack.js';

/**
 * A stack whose bridge has one engine, so that every statement's unit follows the previous one on the same backend,
 * holding connector profiles of the given names in us-east-1; registers its start and stop with the suite.
 */
export function oneEngineStack(
  names: string[],
  bridgeArgs: string[] = [],
): { stack: () => Stack; connect: () => Promise<pg.Client> } {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ regions: ['us-east-1'], bridgeArgs: ['--engines', '1', ...bridgeArgs] });
    await createResources(
      stack.sdk('us-east-1'),
      TYPE_NAME,
      names.map((name) => ({
        ConnectorProfileName: name,
        ConnectorType: 'Salesforce',
        ConnectionMode: 'Public',
      })),
    );
  }, 60000);
  afterAll(() => stack?.stop());
  return {
    stack: () => stack,
    connect: async () => {
      const c = new pg.Client(stack.pg);
      await c.connect();
      return c;
    },
  };
}
