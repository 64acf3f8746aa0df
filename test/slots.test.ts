import { Slots } from '../server/cloudcontrol/slots.js';

test('Slots: at most max tasks at once, the others started in the order they came, a failure frees its slot', async () => {
  const slots = new Slots(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const task = (i: number) => async () => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    if (i === 1) throw new Error('task 1 failed');
    return i;
  };
  const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => slots.run(task(i))));
  expect(most).toBe(2);
  expect(started).toEqual([0, 1, 2, 3, 4]);
  expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
    0,
    'task 1 failed',
    2,
    3,
    4,
  ]);
  // Every slot was given back: two tasks that each wait for the other to start both run (else this hangs).
  let release!: () => void;
  const bothStarted = new Promise<void>((resolve) => (release = resolve));
  let arrived = 0;
  await Promise.all(
    [0, 1].map(() =>
      slots.run(async () => {
        if (++arrived === 2) release();
        await bothStarted;
      }),
    ),
  );
  expect(arrived).toBe(2);
});
