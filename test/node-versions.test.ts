import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { fakeAwsEnv, projectRoot } from './support/processes.js';

/**
 * The demo under other Node majors (22 and 24: the AWS SDK requires 22 after January 2027). Their binaries come
 * from the npm registry's `node` package; .ci/run fetches them and lists their paths in AWS_SQL_BRIDGE_TEST_NODES
 * (colon-separated). Without it the test is skipped, saying so.
 */
const nodes = (process.env.AWS_SQL_BRIDGE_TEST_NODES ?? '').split(':').filter(Boolean);

async function smoke(node: string): Promise<{ count: number; output: string }> {
  const child = spawn(
    node,
    [path.join(projectRoot, 'dist/server/main.js'), '--demo', '--port', '0', '--types', 'AWS::AppFlow::*'],
    { cwd: projectRoot, env: { ...process.env, ...fakeAwsEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    let port: number | undefined;
    for (let waited = 0; port === undefined; waited += 100) {
      const m = /aws-sql-bridge listening on [\d.]+:(\d+)/.exec(output);
      if (m) port = Number(m[1]);
      else if (child.exitCode !== null || waited > 150000) throw new Error(`${node}: no start:\n${output}`);
      else await new Promise((r) => setTimeout(r, 100));
    }
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'aws' });
    await c.connect();
    try {
      const r = await c.query(
        "SELECT count(*)::int AS n FROM appflow.connector_profiles WHERE region = 'us-east-1'",
      );
      return { count: r.rows[0].n as number, output };
    } finally {
      await c.end();
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

function versionOf(node: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--version'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(out.trim()));
  });
}

if (nodes.length === 0) {
  test.skip('the demo under Node 22 and 24 (set AWS_SQL_BRIDGE_TEST_NODES; .ci/run does)', () => {});
} else {
  test.each(nodes)(
    'the demo serves sample rows under %s',
    async (node) => {
      expect(await versionOf(node)).toMatch(/^v(2[2-9]|[3-9]\d)\./);
      const { count, output } = await smoke(node);
      expect(count).toBeGreaterThan(0);
      // The SDK warns on Node 20 only; on these it must not.
      expect(output).not.toContain('NodeVersionSupportWarning');
    },
    200000,
  );
}
