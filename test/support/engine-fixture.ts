import os from 'node:os';
import path from 'node:path';

/** The DDL and template cache the engine suites share, so they build one template between them. */
export const engineTestDdl = `CREATE SCHEMA appflow;
CREATE TABLE appflow.t (a text, j jsonb, n int);
COMMENT ON TABLE appflow.t IS 'a test table';`;
export const engineTestCacheDir = path.join(os.tmpdir(), 'aws-sql-bridge-engine-test');

/** A simple Query message. */
export function query(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`);
  const head = Buffer.alloc(5);
  head.write('Q', 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
