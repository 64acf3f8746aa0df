/**
 * At most `max` tasks at once, the others queued in order. What p-limit does, without its per-task promise and
 * microtask hops: a task with a free slot starts synchronously, which matters on the path of every Cloud Control call.
 */
export class Slots {
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active < this.max) this.#active++;
    // The slot is handed over by the task that frees it (#active unchanged), so none can be taken in between.
    else await new Promise<void>((resolve) => this.#queue.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
