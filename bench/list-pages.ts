/**
 * The count figure's reference as the bridge sees the emulator: from a process of its own. Each line on stdin
 * lists every page of `typeName` in `region` at `endpoint` once (the AWS SDK, as the bench's own loop does) and
 * answers with its time in ms; the first list warms the client up and answers `ready`.
 * Usage: node list-pages.js <endpoint> <region> <typeName>
 */
import { createInterface } from 'node:readline';
import { CloudControlClient } from '@aws-sdk/client-cloudcontrol';
import { exampleCredentials, listAllPages } from './support.js';

const [endpoint, region, typeName] = process.argv.slice(2) as [string, string, string];
const sdk = new CloudControlClient({ region, endpoint, credentials: exampleCredentials });

const listAll = () => listAllPages(sdk, typeName);

await listAll();
process.stdout.write('ready\n');
for await (const request of createInterface({ input: process.stdin })) {
  // An empty line asks for one list; anything else is not this script's.
  if (request !== '') continue;
  const started = process.hrtime.bigint();
  await listAll();
  process.stdout.write(`${Number(process.hrtime.bigint() - started) / 1e6}\n`);
}
