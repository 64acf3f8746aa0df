import pg from 'pg';
import { servingInterruptBudget, tierUpSooner } from '../server/v8-tiering.js';
import { jsonLogLines, startBridge, startEmulator, type Started } from './support/processes.js';
import { ONLY_CONNECTOR_PROFILES } from './support/stack.js';

let emulator: Started & { endpoint: string };
beforeAll(async () => {
  emulator = await startEmulator(['--sample-data']);
});
afterAll(() => emulator?.stop());

/** A bridge with `nodeArgs` given to node: what it logged about V8's budget, and a point read's answer. */
async function budgetAndRead(nodeArgs: string[]) {
  const bridge = await startBridge(
    [
      '--endpoint',
      emulator.endpoint,
      '--region',
      'us-east-1',
      '--log-level',
      'debug',
      ...ONLY_CONNECTOR_PROFILES,
    ],
    {},
    nodeArgs,
  );
  try {
    const client = new pg.Client({ host: '127.0.0.1', port: bridge.port, user: 'postgres', database: 'aws' });
    await client.connect();
    try {
      const { rows: listed } = await client.query(
        "SELECT data__identifier FROM appflow.connector_profiles WHERE region = 'us-east-1' LIMIT 1",
      );
      const id = listed[0].data__identifier as string;
      const { rows } = await client.query(
        'SELECT data__identifier FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2',
        ['us-east-1', id],
      );
      expect(rows).toEqual([{ data__identifier: id }]);
    } finally {
      await client.end();
    }
    return jsonLogLines(bridge.output(), 'V8 interrupt budget').map((l) => l.interruptBudget);
  } finally {
    await bridge.stop();
  }
}

test('the server lowers V8 interrupt budget once ready, and serves point reads with it', async () => {
  expect(await budgetAndRead([])).toEqual([servingInterruptBudget]);
}, 200000);

test("an operator's own --interrupt-budget given to node is kept", async () => {
  expect(await budgetAndRead(['--interrupt-budget=100000'])).toEqual(['set by the operator']);
  // Either spelling V8 accepts; other node flags leave the budget to the server (not set here: this process's own).
  expect(tierUpSooner(['--interrupt_budget=50000'])).toBeUndefined();
  expect(tierUpSooner(['--max-old-space-size=512', '--interrupt-budget'])).toBeUndefined();
}, 200000);
