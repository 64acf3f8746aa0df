/**
 * The floor of the point-read figure: a process between node-postgres and Cloud Control that does nothing but the
 * unavoidable. For each query it reads the identifier from the Bind, sends that GetResource with a plain SDK client
 * (the bench's reference call), and answers with the bytes the bridge answered one point read with (recorded by
 * the bench); it answers the startup with the bridge's recorded startup answer. So its p50 over the SDK's is what
 * the client and a process of its own in between cost, and the bridge's ratio above it is the bridge's own work.
 *
 *   node dist/bench/point-floor.js <endpoint> <region> <type name>   (stdin: the recorded answers, JSON)
 */
import net from 'node:net';
import { CloudControlClient, GetResourceCommand } from '@aws-sdk/client-cloudcontrol';
import { exampleCredentials } from './support.js';

const [endpoint, region, typeName] = process.argv.slice(2) as [string, string, string];
let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const recorded = JSON.parse(input) as { startup: string; answer: string };
const startup = Buffer.from(recorded.startup, 'base64');
const answer = Buffer.from(recorded.answer, 'base64');
const sdk = new CloudControlClient({ region, endpoint, credentials: exampleCredentials });

/** The second parameter of the Bind in `batch` (node-postgres sends text parameters): the identifier. */
function identifierOf(batch: Buffer): string {
  let at = 0;
  while (at < batch.length && batch[at] !== 0x42) at += 1 + batch.readInt32BE(at + 1);
  if (at >= batch.length) throw new Error('no Bind in the batch');
  let p = batch.indexOf(0, at + 5) + 1; // portal
  p = batch.indexOf(0, p) + 1; // statement
  p += 2 + 2 * batch.readInt16BE(p); // parameter formats
  const count = batch.readInt16BE(p);
  p += 2;
  for (let i = 0; i < count; i++) {
    const length = batch.readInt32BE(p);
    if (i === 1) return batch.toString('utf8', p + 4, p + 4 + length);
    p += 4 + Math.max(0, length);
  }
  throw new Error('the Bind has no second parameter');
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let started = false;
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (!started) {
      started = true;
      socket.write(startup);
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    // A batch ends with Sync (S, length 4).
    if (pending.length < 5 || pending[pending.length - 5] !== 0x53) return;
    const batch = pending;
    pending = Buffer.alloc(0);
    sdk
      .send(new GetResourceCommand({ TypeName: typeName, Identifier: identifierOf(batch) }))
      .then(() => socket.write(answer))
      .catch(() => socket.destroy());
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${(server.address() as net.AddressInfo).port}`);
});
process.on('SIGTERM', () => {
  sdk.destroy();
  server.close();
  process.exit(0);
});
