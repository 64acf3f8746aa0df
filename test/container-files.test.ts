/**
 * No Docker engine runs on these machines, so the container files are checked with what runs here: the
 * Dockerfile copies what exists, and the command docker compose would run starts the demo as a user
 * connects to it (on loopback, with an ephemeral port, instead of 0.0.0.0:5433).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { projectRoot, startNode } from './support/processes.js';

const dockerfile = readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8');
const compose = readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8');
// A YAML flow sequence of plain strings reads as JSON once its quotes are double.
const jsonLine = (text: string, key: RegExp) =>
  JSON.parse(key.exec(text)![1]!.replaceAll("'", '"')) as string[];

test('the Dockerfile copies sources that exist and runs the built server', () => {
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(\S+) /gm)].map((m) => m[1]!);
  expect(sources).toEqual(expect.arrayContaining(['package.json', 'catalog', 'emulator', 'server']));
  for (const source of sources) expect(existsSync(path.join(projectRoot, source))).toBe(true);
  const entrypoint = jsonLine(dockerfile, /^ENTRYPOINT (\[.*\])$/m);
  expect(entrypoint).toEqual(['node', 'dist/server/main.js']);
  expect(jsonLine(dockerfile, /^CMD (\[.*\])$/m)).toEqual(jsonLine(compose, /^\s+command: (\[.*\])$/m));
});

test("docker compose's command starts the demo with the password from its environment", async () => {
  const command = jsonLine(compose, /^\s+command: (\[.*\])$/m);
  const port = command[command.indexOf('--port') + 1];
  expect(compose).toMatch(new RegExp(`['"]127\\.0\\.0\\.1:5433:${port}['"]`));
  const password = /PGBRIDGE_PASSWORD: \$\{PGBRIDGE_PASSWORD:-(\w+)\}/.exec(compose)![1]!;
  const args = command.map((a, i) =>
    command[i - 1] === '--host' ? '127.0.0.1' : command[i - 1] === '--port' ? '0' : a,
  );
  const server = await startNode('server/main.js', args, /listening on [\d.]+:(\d+)/, {
    PGBRIDGE_PASSWORD: password,
  });
  try {
    const connection = {
      host: '127.0.0.1',
      port: Number(server.match[1]),
      database: 'aws',
      user: 'postgres',
    };
    const c = new pg.Client({ ...connection, password });
    await c.connect();
    const r = await c.query('SELECT count(DISTINCT region)::int AS regions FROM appflow.connector_profiles');
    expect(r.rows).toEqual([{ regions: 2 }]);
    await c.end();
    await expect(new pg.Client({ ...connection, password: 'not-it' }).connect()).rejects.toMatchObject({
      code: '28P01',
    });
  } finally {
    await server.stop();
  }
});
