/** The flags of `npm run refresh-registry` (refresh-main.ts). */
import type { RefreshOptions } from './refresh.js';
import { snapshotPath, snapshotRegion } from './snapshot.js';

export const usage = `Usage: npm run refresh-registry -- [options]
  --region R         region to read the registry of (default: AWS_REGION, else ${snapshotRegion})
  --endpoint URL     CloudFormation endpoint (default: the SDK's; AWS_ENDPOINT_URL is honoured)
  --out FILE         file to write (default: catalog/registry/schemas-<region>.json.gz in the project)
  --concurrency N    DescribeType calls in flight at once (default 4)
Credentials come from the SDK's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, instance role...).
It needs cloudformation:ListTypes and cloudformation:DescribeType.`;

export function parseRefreshArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): RefreshOptions {
  let region = env.AWS_REGION || env.AWS_DEFAULT_REGION || snapshotRegion;
  let endpoint: string | undefined;
  let out: string | undefined;
  let concurrency: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--region':
        region = value();
        if (!/^[a-z]{2}(-[a-z0-9]+)+$/.test(region)) throw new Error(`--region: "${region}" is not a region`);
        break;
      case '--endpoint':
        endpoint = value();
        if (!URL.canParse(endpoint)) throw new Error(`--endpoint: "${endpoint}" is not a URL`);
        break;
      case '--out':
        out = value();
        break;
      case '--concurrency': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 64)
          throw new Error('--concurrency needs a whole number from 1 to 64');
        concurrency = n;
        break;
      }
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  return { region, endpoint, out: out ?? snapshotPath(region), concurrency };
}
