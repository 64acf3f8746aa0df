import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fakeAwsEnv, jsonLogLines, projectRoot } from './support/processes.js';

const main = path.join(projectRoot, 'dist/server/main.js');
// eslint-disable-next-line no-control-regex
const stripColor = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/**
 * Runs the demo (narrowed to AppFlow, to start sooner) until it prints how to connect, then SIGTERMs it and
 * returns all it wrote. With `tty`, through a pseudo-terminal (`script`), stdout and stderr both on it.
 */
function demoOutput(tty: boolean, extra: string[] = []): Promise<{ out: string; code: number | null }> {
  const args = ['--demo', '--port', '0', '--types', 'AWS::AppFlow::*', ...extra];
  const env = { ...process.env, ...fakeAwsEnv, NO_COLOR: '' };
  // `exec` keeps the shell's PID for node, so the PID printed first is the server's.
  const command = `echo "pid $$"; exec ${process.execPath} ${main} ${args.map((a) => `'${a}'`).join(' ')}`;
  const child = tty
    ? spawn('script', ['-qfec', command, '/dev/null'], { cwd: projectRoot, env })
    : spawn('sh', ['-c', command], { cwd: projectRoot, env });
  let out = '';
  let signalled = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the demo did not start:\n${out}`));
    }, 90000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const pid = /pid (\d+)/.exec(out)?.[1];
      if (!signalled && pid && /connect with/.test(out)) {
        signalled = true;
        process.kill(Number(pid), 'SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ out: out.replace(/\r/g, ''), code });
    });
  });
}

test('on a terminal the logs are one readable line per event, not JSON', async () => {
  const { out, code } = await demoOutput(true);
  expect(code).toBe(0);
  const lines = stripColor(out).split('\n').filter(Boolean);
  expect(lines.filter((l) => l.trimStart().startsWith('{'))).toEqual([]);
  expect(lines).toContainEqual(
    expect.stringMatching(/^\d\d:\d\d:\d\d WARN +no password configured: any local user can connect/),
  );
  expect(lines).toContainEqual(
    expect.stringMatching(/^\d\d:\d\d:\d\d INFO +SIGTERM received signal=SIGTERM$/),
  );
  // The first line after the PID is the trust warning, as a sentence rather than a JSON object.
  expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d WARN /);
}, 120000);

test('off a terminal, and with --log-format json on one, each log line is pino JSON', async () => {
  for (const run of [await demoOutput(false), await demoOutput(true, ['--log-format', 'json'])]) {
    expect(run.code).toBe(0);
    const json = jsonLogLines(run.out);
    expect(json).toContainEqual(
      expect.objectContaining({ level: 40, msg: expect.stringContaining('no password configured') }),
    );
    expect(json).toContainEqual(expect.objectContaining({ level: 30, msg: 'SIGTERM received' }));
    expect(run.out).not.toMatch(/^\d\d:\d\d:\d\d WARN /m);
  }
}, 240000);

test('a bad --log-format or --shutdown-timeout says what to give', () => {
  for (const [flag, value, says] of [
    ['--log-format', 'yaml', '--log-format yaml: give pretty, json or auto'],
    [
      '--shutdown-timeout',
      'soon',
      '--shutdown-timeout soon: give seconds, from 0 (terminate at once) to 3600',
    ],
  ] as const) {
    const r = spawnSync(process.execPath, [main, flag, value], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(says);
  }
});

test('the emulator prints its usage for --help, without an "unknown flag" error', () => {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'dist/emulator/main.js'), '--help'], {
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Usage: node dist\/emulator\/main.js --port <port> \[options\]/);
  expect(r.stdout).toContain('--completion-delay-ms N');
  expect(r.stderr).not.toContain('unknown flag');
});

/** Starts the package's bin with --demo and a metrics port; resolves /readyz's answer once it serves, then stops it. */
async function demoReadyz(bin: string, cwd: string): Promise<{ status: number; body: string }> {
  const child = spawn(
    process.execPath,
    [bin, '--demo', '--port', '0', '--metrics-port', '0', '--types', 'AWS::AppFlow::*'],
    { cwd, env: { ...process.env, ...fakeAwsEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (let waited = 0; ; waited += 100) {
      const m = /metrics on http:\/\/[\d.]+:(\d+)\/metrics/.exec(out);
      if (m) {
        const r = await fetch(`http://127.0.0.1:${m[1]}/readyz`);
        return { status: r.status, body: await r.text() };
      }
      if (child.exitCode !== null || waited > 150000) throw new Error(`the demo did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

test('npm pack: the package holds what it runs with; installed from the tarball, npx aws-sql-bridge runs --help and iam-policy, and its bin --demo', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-pack-'));
  try {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
        cwd: projectRoot,
        encoding: 'utf8',
      }),
    ) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/server/main.js',
        'dist/emulator/main.js',
        'catalog/registry/schemas-us-east-1.json.gz',
        'catalog/registry/stackql-table-names.tsv',
      ]),
    );
    expect(
      files.filter((f) => /^(test|bench|server)\/|^dist\/bench\/|\.ts$/.test(f) && !f.endsWith('.d.ts')),
    ).toEqual([]);
    // Installed as a user installs it: the registry's dependencies (npm ci has them in npm's cache already).
    const app = path.join(dir, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), '{"name": "app", "private": true}');
    execFileSync(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, packed[0]!.filename)],
      { cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const npx = (...args: string[]) =>
      spawnSync('npx', ['--no-install', 'aws-sql-bridge', ...args], { cwd: app, encoding: 'utf8' });
    const help = npx('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('aws-sql-bridge iam-policy [--read-only]');
    // iam-policy reads the registry snapshot, so this finds catalog/registry inside the package.
    const policy = npx('iam-policy', '--read-only', '--types', 'AWS::AppFlow::ConnectorProfile');
    expect(policy.status).toBe(0);
    expect(JSON.parse(policy.stdout).Statement[0].Action).toContain('appflow:DescribeConnectorProfiles');
    // The installed bin itself (not npx's wrapper), so that stopping it by PID stops the server.
    const bin = path.join(app, 'node_modules', 'aws-sql-bridge', 'dist', 'server', 'main.js');
    expect(existsSync(bin)).toBe(true);
    // The demo from the package: its engines open and it reports ready (no AWS credential check in demo mode).
    expect(await demoReadyz(bin, app)).toEqual({ status: 200, body: 'ready\n' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 200000);
