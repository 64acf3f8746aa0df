import { loadParser, parseStatements } from '../server/plan/parse.js';
import { setConfigCalls } from '../server/plan/set-config.js';

beforeAll(async () => {
  await loadParser();
});

const calls = (sql: string, params: (string | null)[] = []) =>
  setConfigCalls(parseStatements(sql)[0]!, params);

test('set_config with constant arguments, qualified or not, through casts and subqueries', () => {
  expect(calls("SELECT pg_catalog.set_config('search_path', '', false)")).toEqual([
    { name: 'search_path', local: false },
  ]);
  expect(calls("SELECT set_config('Application_Name'::text, 'x', true)")).toEqual([
    { name: 'application_name', local: true },
  ]);
  expect(
    calls(
      "SELECT 1 FROM (SELECT set_config('work_mem', '8MB', 'true'::boolean)) s, LATERAL set_config('a.b', '1', false) t",
    ),
  ).toEqual([
    { name: 'work_mem', local: true },
    { name: 'a.b', local: false },
  ]);
});

test('a $n names the setting with its Bind value; a name known only when it runs is not kept', () => {
  expect(calls('SELECT set_config($1, $2, $3)', ['TimeZone', 'UTC', 'false'])).toEqual([
    { name: 'timezone', local: false },
  ]);
  expect(calls("SELECT set_config(name, 'x', false) FROM pg_settings")).toEqual([]);
  // Another schema's set_config is not PostgreSQL's.
  expect(calls("SELECT myschema.set_config('work_mem', '1MB', false)")).toEqual([]);
  expect(calls("SELECT current_setting('work_mem')")).toEqual([]);
});
