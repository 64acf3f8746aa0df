// Builds the engine templates the suites' bridges open (every registry type, and the connector profiles alone)
// once, before any suite starts: a first build takes up to a minute on a busy machine, longer than a suite's hooks
// wait, and suites starting at once would each build the same one.
import { catalog, catalogDdl, selectCatalog } from '../dist/catalog/index.js';
import { catalogKey } from '../dist/server/catalog-key.js';
import { ensureTemplate } from '../dist/server/engine/template.js';

export default async function globalSetup() {
  // Under the key the bridge finds them by: what the DDL is made from (server/catalog-key.ts).
  for (const types of [[], ['AWS::AppFlow::ConnectorProfile']]) {
    const selected = types.length === 0 ? catalog : selectCatalog(types);
    await ensureTemplate(() => catalogDdl(selected), undefined, catalogKey(types, []));
  }
}
