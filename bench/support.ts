import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ListResourcesCommand, type CloudControlClient } from '@aws-sdk/client-cloudcontrol';

/** AWS's documented example keys: the emulator accepts any signature, and no real credential is ever read. */
export const exampleCredentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

/** The environment a bridge under measurement runs with: the example keys, and no instance-metadata probe. */
export const exampleAwsEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: exampleCredentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: exampleCredentials.secretAccessKey,
  AWS_EC2_METADATA_DISABLED: 'true',
};

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The port a bridge started with `--port 0` says it listens on (its stdout); rejects if it exits first. */
export function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`the bridge exited with ${code}: ${out}`)));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (asynchronously, so jest's timers keep running) and collects its output. */
export function run(
  command: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[harness] ${command} killed after ${options.timeoutMs ?? 120000} ms`;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 120000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Every ListResources page of a type in the client's region, as a client lists them; the resources counted. */
export async function listAllPages(sdk: CloudControlClient, typeName: string): Promise<number> {
  let token: string | undefined;
  let n = 0;
  do {
    const out = await sdk.send(
      new ListResourcesCommand({ TypeName: typeName, NextToken: token, MaxResults: 100 }),
    );
    n += out.ResourceDescriptions?.length ?? 0;
    token = out.NextToken || undefined;
  } while (token);
  return n;
}

/** One SQLAlchemy reflection: its wall ms and the CPU ms its own Python process took in it. */
export interface Reflection {
  ms: number;
  clientCpuMs: number;
}

/**
 * SQLAlchemy 1.4's inspect() of a schema (table names, then each table's columns) in a Python process of its own
 * (bench/clients/sqlalchemy_inspect.py), `rounds` times on one connection: each reflection's ms (not Python's
 * start) and its client's CPU, and what it found.
 */
export function sqlalchemyInspect(
  url: string,
  schema: string,
  rounds = 1,
): { reflections: Reflection[]; answer: string } {
  const script = path.resolve(import.meta.dirname, '../../bench/clients/sqlalchemy_inspect.py');
  const py = spawnSync('/usr/bin/python3', [script, url, schema, String(rounds)], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  if (py.status !== 0) throw new Error(`sqlalchemy_inspect: ${py.stderr}`);
  const r = JSON.parse(py.stdout) as { inspect: number[]; cpu: number[]; tables: number; columns: number };
  const reflections = r.inspect.map((ms, i) => ({ ms, clientCpuMs: r.cpu[i]! }));
  return { reflections, answer: `${r.tables} tables, ${r.columns} columns` };
}
