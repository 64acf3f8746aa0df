/** The port of a bridge's /metrics, from the line it logs once listening (started with --metrics-port 0). */
export async function metricsPortOf(output: () => string): Promise<number> {
  for (;;) {
    const m = /metrics on http:\/\/[\d.]+:(\d+)\/metrics/.exec(output());
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a bridge's /metrics answers now. */
export async function metricsText(output: () => string): Promise<string> {
  const port = await metricsPortOf(output);
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The sum of a metric's samples whose labels include `labels` (0 when none). */
export function sample(body: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of body.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}
