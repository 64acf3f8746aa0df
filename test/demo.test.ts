import { startNode } from './support/processes.js';
import { psql } from './support/psql.js';

test('demo mode serves the built-in emulator with sample data in two regions and prints how to connect', async () => {
  const demo = await startNode(
    'server/main.js',
    ['--demo', '--port', '0'],
    /connect with: (psql "[^"]+")/,
    {},
    60000,
  );
  try {
    const port = Number(/port=(\d+)/.exec(demo.match[1]!)![1]);
    expect(demo.output()).toMatch(
      /demo mode: Cloud Control emulator at http:\/\/127\.0\.0\.1:\d+, regions us-east-1, eu-west-1/,
    );
    const r = psql({ host: '127.0.0.1', port, user: 'postgres', database: 'aws' }, [
      'SELECT region, count(*) FROM appflow.connector_profiles GROUP BY region ORDER BY region',
      "SELECT connector_type FROM aws.appflow.connector_profile WHERE region = 'us-east-1' AND data__Identifier = 'salesforce-prod'",
    ]);
    expect(r.status).toBe(0);
    const out = r.stdout.trim().split('\n');
    expect(out[0]).toBe('region|count');
    expect(out[1]).toMatch(/^eu-west-1\|\d+$/);
    expect(out[2]).toMatch(/^us-east-1\|\d+$/);
    expect(out).toContain('Salesforce');
  } finally {
    await demo.stop();
  }
});
