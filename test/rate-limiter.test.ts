import { Pacer } from '../server/cloudcontrol/rate-limiter.js';

// The Pacer against a service that counts arrivals over a sliding second (the emulator's model) and does not count
// what it throttles: 8 callers, as --max-concurrency, each retrying a throttled call through the pacer again.
// Counts only, no timing: the fan-out test (fanout-throttle.test.ts) drives the same through a real bridge.
const limit = 20;
const calls = 60;

async function fanOut(pacer: Pacer): Promise<{ done: number; throttled: number }> {
  const arrivals: number[] = [];
  const arrive = (now: number): boolean => {
    while (arrivals.length > 0 && arrivals[0]! <= now - 1000) arrivals.shift();
    if (arrivals.length >= limit) return false;
    arrivals.push(now);
    return true;
  };
  const trip = () => new Promise((r) => setTimeout(r, 1));
  let next = 0;
  let done = 0;
  let throttled = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < calls) {
        next++;
        for (;;) {
          // As paceAttempts (throttle-retry.ts) takes its turn: at once when it may go, else waiting.
          const leave = pacer.tryLeave() ?? (await pacer.take());
          await trip();
          const admitted = arrive(performance.now());
          await trip();
          if (admitted) {
            leave.admitted();
            break;
          }
          throttled++;
          leave.throttled();
        }
        done++;
      }
    }),
  );
  return { done, throttled };
}

test('without a rate: the first throttles teach it, the calls in flight then are all it costs', async () => {
  const learned: number[] = [];
  const pacer = new Pacer(Infinity, (rate) => learned.push(rate));
  const { done, throttled } = await fanOut(pacer);
  expect(done).toBe(calls);
  expect(throttled).toBeGreaterThan(0);
  expect(throttled).toBeLessThanOrEqual(8);
  expect(learned[0]).toBe(limit);
  expect(pacer.rate).toBe(limit);
}, 30000);

test('with a ceiling at the limit: not one throttled answer, as the second is counted on answers', async () => {
  const pacer = new Pacer(limit);
  const { done, throttled } = await fanOut(pacer);
  expect(done).toBe(calls);
  expect(throttled).toBe(0);
}, 30000);

test('a wait that is aborted leaves the queue with the reason', async () => {
  const pacer = new Pacer(1);
  (await pacer.take()).admitted();
  const aborted = new AbortController();
  const waiting = pacer.take(aborted.signal);
  aborted.abort(new Error('statement cancelled'));
  await expect(waiting).rejects.toThrow('statement cancelled');
});

test('tryLeave: a call goes at once while nothing is learned, and waits its turn once a rate is', () => {
  let now = 0;
  const pacer = new Pacer(Infinity, undefined, () => now);
  const first = pacer.tryLeave();
  expect(first).toBeDefined();
  // Still in flight: without a rate the next one goes anyway.
  const second = pacer.tryLeave();
  expect(second).toBeDefined();
  first!.admitted();
  now = 10;
  second!.throttled();
  expect(pacer.rate).toBe(1);
  // One call a second, the second already full: the next must wait, so it is not let go at once.
  expect(pacer.tryLeave()).toBeUndefined();
});
