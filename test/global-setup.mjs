// Builds the engine templates the suites' bridges open (every registry type, and the connector profiles alone)
// once, before any suite starts: a first build takes up to a minute on a busy machine, longer than a suite's hooks
// wait, and suites starting at once would each build the same one.
import { catalog, catalogDdl, selectCatalog } from '../dist/catalog/index.js';
import { ensureTemplate } from '../dist/server/engine/template.js';

export default async function globalSetup() {
  for (const selected of [catalog, selectCatalog(['AWS::AppFlow::ConnectorProfile'])])
    await ensureTemplate(catalogDdl(selected));
}
