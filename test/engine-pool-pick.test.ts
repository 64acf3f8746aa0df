import path from 'node:path';
import { projectRoot } from './support/processes.js';

type PoolModule = typeof import('../server/engine/pool.js');
type EnginePool = import('../server/engine/pool.js').EnginePool;
type EngineUnit = import('../server/engine/pool.js').EngineUnit;

const { EnginePool } = (await import(path.join(projectRoot, 'dist/server/engine/pool.js'))) as PoolModule;

/**
 * An engine whose state the test sets: the pool's choice of engine is what is under test, so each engine answers
 * its units at once with what the test queued.
 */
class StubEngine {
  state: 'ready' | 'down' = 'ready';
  /** Running its own warm-up, which a unit would interrupt. */
  warming = false;
  readonly serverVersion = '18.0';
  readonly stats = { restarts: 0, cancels: 0, lastStart: { openMs: 0 } };
  readonly answers: (() => Promise<Buffer>)[] = [];
  ran = 0;
  run(): Promise<Buffer> {
    this.ran++;
    return this.answers.shift()?.() ?? Promise.resolve(Buffer.from('ok'));
  }
  cancel(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  whenAvailable(): Promise<void> {
    return Promise.resolve();
  }
}

const poolOf = (engines: StubEngine[]): EnginePool =>
  new (EnginePool as unknown as new (slots: unknown[]) => EnginePool)(
    engines.map((engine) => ({ engine, watching: false })),
  );

const unit = (owner: object): EngineUnit => ({ settings: [], load: [], messages: new Uint8Array(), owner });

test('a session running long work still gets the only engine that serves, when the other failed to restart', async () => {
  const failed = new StubEngine();
  failed.state = 'down';
  const serving = new StubEngine();
  const pool = poolOf([failed, serving]);
  const session = {};
  // A cancelled unit (a statement_timeout) marks the session as running long work.
  serving.answers.push(() => Promise.reject(Object.assign(new Error('canceled'), { code: '57014' })));
  await expect(pool.run(unit(session))).rejects.toMatchObject({ code: '57014' });

  const next = pool.run(unit(session));
  const waited = new Promise((resolve) => setTimeout(() => resolve('still queued after 1 s'), 1000));
  await expect(Promise.race([next, waited])).resolves.toEqual(Buffer.from('ok'));
  expect(serving.ran).toBe(2);
  expect(failed.ran).toBe(0);
});

test('with two serving engines, a session running long work leaves one free for the others', async () => {
  const engines = [new StubEngine(), new StubEngine()];
  const pool = poolOf(engines);
  const session = {};
  engines[0]!.answers.push(() => Promise.reject(Object.assign(new Error('canceled'), { code: '57014' })));
  await expect(pool.run(unit(session))).rejects.toMatchObject({ code: '57014' });
  // One engine busy with someone else's unit: the long session waits rather than take the last free one.
  let release!: (b: Buffer) => void;
  engines[0]!.answers.push(() => new Promise((resolve) => (release = resolve)));
  const other = pool.run(unit({}));
  let served = false;
  const next = pool.run(unit(session)).then((b) => ((served = true), b));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(served).toBe(false);
  release(Buffer.from('other'));
  await expect(other).resolves.toEqual(Buffer.from('other'));
  await expect(next).resolves.toEqual(Buffer.from('ok'));
});

test('a unit goes to an idle engine rather than interrupt another engine warming up', async () => {
  const engines = [new StubEngine(), new StubEngine()];
  engines[0]!.warming = true;
  const pool = poolOf(engines);
  await pool.run(unit({}));
  expect(engines.map((e) => e.ran)).toEqual([0, 1]);
  // With only warming engines ready, the unit does not wait for a warm-up to end: it takes one of them.
  engines[1]!.warming = true;
  await pool.run(unit({}));
  expect(engines.map((e) => e.ran)).toEqual([1, 1]);
});
