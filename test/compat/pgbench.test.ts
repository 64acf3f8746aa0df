/**
 * pgbench 15 with a custom script over both tables, in the extended and the prepared query modes: every
 * statement is Parse/Bind/Execute with pgbench's variables as parameters ($1, $2, ...), and in prepared mode
 * each one is a named server statement parsed once per connection and bound many times.
 * The script checks what it read (\gset, then a division by zero if a value is wrong), so a wrong answer
 * aborts the client and fails the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createProfiles, startStack, type Stack } from '../support/stack.js';
import { EAST, run, tempDir, WEST } from './harness.js';

let stack: Stack;
let dir: string;

beforeAll(async () => {
  stack = await startStack({ regions: ['us-east-1'], bridgeArgs: ['--password', 'bench-pw'] });
  await createProfiles(stack.sdk('us-east-1'), EAST);
  await createProfiles(stack.sdk('eu-west-1'), WEST);
  dir = tempDir('pgbench');
}, 120000);
afterAll(async () => {
  await stack?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const SCRIPT = `\\set n random(1, 5)
SELECT connector_type AS t, connection_mode AS m FROM appflow.connector_profile WHERE region = :region AND data__identifier = :id \\gset
SELECT count(*) AS c FROM appflow.connector_profiles WHERE region = :region AND length(data__identifier) > :n \\gset
SELECT count(*) AS w FROM appflow.connector_profiles WHERE region = 'eu-west-1' \\gset
SELECT 1 / ((:t = 'Salesforce' AND :m = 'Private' AND :c = 5 AND :w = 3)::int) AS ok;
`;

async function pgbench(mode: 'extended' | 'prepared') {
  const file = path.join(dir, 'appflow.sql');
  fs.writeFileSync(file, SCRIPT);
  return run(
    'pgbench',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(stack.bridge.port),
      '-U',
      'postgres',
      '-n', // no VACUUM of pgbench's own tables: a custom script needs none
      '-M',
      mode,
      '-f',
      file,
      '-D',
      'region=us-east-1',
      '-D',
      'id=sf-sandbox',
      '-c',
      '4',
      '-j',
      '2',
      '-t',
      '25',
      '-r',
      'aws',
    ],
    { env: { PGPASSWORD: 'bench-pw' }, timeoutMs: 120000 },
  );
}

test.each(['extended', 'prepared'] as const)(
  'pgbench -M %s runs the custom script with no failure',
  async (mode) => {
    const r = await pgbench(mode);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`query mode: ${mode}`);
    expect(r.stdout).toContain('number of clients: 4');
    expect(r.stdout).toContain('number of transactions actually processed: 100/100');
    expect(r.stdout).toContain('number of failed transactions: 0 (0.000%)');
    expect(r.stdout).toMatch(/^tps = \d+\.\d+ \(without initial connection time\)$/m);
    // -r: one latency line per statement, each with 0 failures.
    const statements = r.stdout.split('\n').filter((l) => /^\s+\d+\.\d+\s+\d+\s+SELECT /.test(l));
    expect(statements).toHaveLength(4);
    for (const l of statements) expect(l).toMatch(/^\s+\d+\.\d+\s+0\s+SELECT /);
  },
);
