/**
 * `npm run refresh-registry -- [--region R] [--endpoint URL] [--out FILE] [--concurrency N]`: rewrites the
 * registry snapshot from the account the SDK's default credential chain finds.
 */
import { refreshRegistry, type RefreshOptions } from './refresh.js';
import { parseRefreshArgs, usage } from './refresh-cli.js';

if (process.argv.includes('--help')) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
let options: RefreshOptions;
try {
  options = parseRefreshArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n${usage}\n`);
  process.exit(2);
}
try {
  const result = await refreshRegistry({ ...options, onProgress: (m) => process.stderr.write(`${m}\n`) });
  process.stdout.write(`${result.typeNames.length} resource types written to ${result.out}\n`);
} catch (e) {
  // The SDK's messages name the operation and the reason, never the credentials.
  const err = e as Error & { name?: string };
  process.stderr.write(`refresh-registry failed: ${err.name ?? 'Error'}: ${err.message}\n`);
  process.exit(1);
}
