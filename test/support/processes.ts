import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import type { NoticeMessage } from 'pg-protocol/dist/messages.js';

export const projectRoot = path.resolve(import.meta.dirname ?? process.cwd(), '..', '..');

export interface Started {
  child: ChildProcess;
  /** The first capture group of the ready pattern, e.g. the port. */
  match: RegExpMatchArray;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node ...nodeArgs <script> ...args` from dist/ and resolves once a line of its stdout matches `ready`.
 * Tests talk to real processes over loopback, and stop them by PID.
 */
export function startNode(
  script: string,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30000,
  nodeArgs: string[] = [],
): Promise<Started> {
  const child = spawn(process.execPath, [...nodeArgs, path.join(projectRoot, 'dist', script), ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${script} did not become ready in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, output: () => out, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready:\n${out}`));
    });
  });
}

/** The emulator's CLI prints `Cloud Control emulator listening on http://127.0.0.1:<port>`. */
export async function startEmulator(args: string[] = []): Promise<Started & { endpoint: string }> {
  const s = await startNode(
    'emulator/main.js',
    ['--port', '0', ...args],
    /listening on (http:\/\/[\d.]+:\d+)/,
  );
  return { ...s, endpoint: s.match[1]! };
}

/** Credentials for SigV4 signing against the emulator; nothing leaves loopback. */
export const fakeAwsEnv = {
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_REGION: 'us-east-1',
  // Without credentials the SDK would ask the instance metadata service, which is off loopback.
  AWS_EC2_METADATA_DISABLED: 'true',
};

/** The server's CLI prints `aws-sql-bridge listening on <host>:<port>`. */
export async function startBridge(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs: string[] = [],
): Promise<Started & { port: number }> {
  const s = await startNode(
    'server/main.js',
    ['--port', '0', ...args],
    /aws-sql-bridge listening on [\d.]+:(\d+)/,
    { ...fakeAwsEnv, ...env },
    // The first start on a machine builds the engine template of every registry type (about a minute when busy).
    180000,
    nodeArgs,
  );
  return { ...s, port: Number(s.match[1]) };
}

/**
 * For tests that run Cloud Control clients in-process: fake static credentials from the environment, and
 * nothing that could send a request beyond loopback (instance metadata, a profile, an endpoint override).
 */
export function useFakeAwsEnvironment(): void {
  Object.assign(process.env, fakeAwsEnv);
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL_CLOUDCONTROL;
}

/** The pino lines (JSON) in a process's output; with `msg`, only those whose msg is it (or matches it). */
export function jsonLogLines(output: string, msg?: string | RegExp): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => msg === undefined || (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));
}

/** Polls until `check` holds; fails with `what` after a generous bound (a wait for a state, not a timing assertion). */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The emulator's request counts by operation (`GET /__admin/calls`). */
export async function emulatorCalls(endpoint: string): Promise<Record<string, number>> {
  return (await (await fetch(`${endpoint}/__admin/calls`)).json()) as Record<string, number>;
}

export async function resetEmulatorCalls(endpoint: string): Promise<void> {
  await fetch(`${endpoint}/__admin/calls`, { method: 'DELETE' });
}

/** A node-postgres client of a bridge that keeps the notices (NOTICE and WARNING) it receives. */
export async function connectKeepingNotices(
  port: number,
): Promise<{ client: pg.Client; notices: NoticeMessage[] }> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'aws' });
  const notices: NoticeMessage[] = [];
  client.on('notice', (n) => notices.push(n));
  await client.connect();
  return { client, notices };
}

/**
 * Changes the emulator's organization (`POST /__admin/organization`): `{ account: { id, name, state } }` adds or
 * replaces a member, `{ remove: id }`, `{ listFailure: 'ServiceException' | null }`.
 */
export async function changeEmulatorOrganization(endpoint: string, update: object): Promise<void> {
  const res = await fetch(`${endpoint}/__admin/organization`, {
    method: 'POST',
    body: JSON.stringify(update),
  });
  if (!res.ok) throw new Error(`POST /__admin/organization: ${res.status} ${await res.text()}`);
}
