import fs from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

const levelNames: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
const colors: Record<number, string> = { 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
const skip = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** A value as a person reads it in `key=value`: strings bare unless they hold spaces, errors by message. */
function show(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (value && typeof value === 'object' && 'message' in value && 'type' in value)
    return JSON.stringify((value as { message: unknown }).message);
  return JSON.stringify(value);
}

/**
 * One line per event for a terminal: `14:02:07 WARN  message key=value ...`. `line` is one of pino's JSON
 * lines; anything else is returned as it came.
 */
export function prettyLine(line: string, color = false): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = Number(event.level);
  const time = new Date(Number(event.time) || Date.now()).toISOString().slice(11, 19);
  const fields = Object.entries(event)
    .filter(([k, v]) => !skip.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${show(v)}`);
  const name = levelNames[level] ?? String(event.level);
  const tint = color ? colors[level] : undefined;
  const head = tint ? `${tint}${name}\x1b[0m` : name;
  return [time, head, String(event.msg ?? ''), ...fields].filter(Boolean).join(' ');
}

/** pino writes whole lines, synchronously; this turns each into prettyLine's form on file descriptor `fd`. */
function prettyDestination(fd: number, color: boolean): Writable {
  let rest = '';
  return new Writable({
    write(chunk: Buffer, _enc, callback) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      const out = lines.map((l) => prettyLine(l, color) + '\n').join('');
      try {
        if (out) fs.writeSync(fd, out);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}

/** The server's logger on stderr: pretty on a terminal (or `pretty`), pino's JSON lines otherwise. */
export function createLogger(level: string, format: 'auto' | 'pretty' | 'json'): Logger {
  const tty = Boolean(process.stderr.isTTY);
  const pretty = format === 'pretty' || (format === 'auto' && tty);
  if (!pretty) return pino({ level }, pino.destination(2));
  return pino({ level }, prettyDestination(2, tty && !process.env.NO_COLOR));
}
