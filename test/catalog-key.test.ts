import path from 'node:path';
import { catalogKey, catalogKeyFiles } from '../server/catalog-key.js';

// The engine template of a bridge is found by this key, without making the DDL: whatever changes the DDL must
// change the key, or a bridge would open a template with other tables than its catalog.
test('the template key follows what the DDL is made from: --types, --extra-types', () => {
  const every = catalogKey([], []);
  expect(catalogKey([], [])).toBe(every);
  const one = catalogKey(['AWS::AppFlow::ConnectorProfile'], []);
  expect(one).not.toBe(every);
  expect(catalogKey(['AWS::AppFlow::*'], [])).not.toBe(one);
  const extra = { typeName: 'Acme::Widget::Thing', properties: {} } as never;
  expect(catalogKey(['AWS::AppFlow::ConnectorProfile'], [extra])).not.toBe(one);
});

test('the template key covers the catalog code and the registry data it reads', () => {
  const files = catalogKeyFiles().map((f) => f.split(path.sep).slice(-2).join('/'));
  expect(files).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^catalog\/ddl\.(ts|js)$/),
      expect.stringMatching(/^registry\/definitions\.(ts|js)$/),
      'registry/schemas-us-east-1.json.gz',
      'registry/stackql-table-names.tsv',
      'registry/list-handlers.json',
    ]),
  );
});
