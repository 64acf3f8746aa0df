import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../compat/harness.js';

export interface StartedRedis {
  child: ChildProcess;
  /** `redis://127.0.0.1:<port>`, for the bridge's --cache. */
  url: string;
  stop(): Promise<void>;
}

/** Debian's redis-server on a free loopback port, nothing saved: the read cache bridges share (`--cache`). */
export async function startRedis(): Promise<StartedRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return { child, url: `redis://127.0.0.1:${port}`, stop };
}
