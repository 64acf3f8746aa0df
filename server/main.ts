#!/usr/bin/env node
import { parseConfig } from './config.js';
import { createLogger } from './log-format.js';
import { tierUpSooner } from './v8-tiering.js';

const args = process.argv.slice(2);
if (args[0] === 'iam-policy') {
  const { runIamPolicy } = await import('./iam-policy.js');
  try {
    const { text, warning } = await runIamPolicy(args.slice(1));
    if (warning) console.error(`aws-sql-bridge iam-policy: ${warning}`);
    // stdout may be a pipe (written asynchronously): exit once all of the policy is out.
    await new Promise<void>((resolve) => process.stdout.write(`${text}\n`, () => resolve()));
    process.exit(0);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}

const config = (() => {
  try {
    return parseConfig(args, process.env);
  } catch (err) {
    console.error(`aws-sql-bridge: ${(err as Error).message} (see aws-sql-bridge --help)`);
    process.exit(2);
  }
})();
const logger = createLogger(config.logLevel, config.logFormat);
const { startServer } = await import('./server.js');

let endpoint: string | undefined;
let stopEmulator: (() => Promise<void>) | undefined;
if (config.demo) {
  // Demo mode signs requests for the built-in emulator; these example keys never leave loopback.
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  process.env.AWS_EC2_METADATA_DISABLED ??= 'true';
  const { startEmulator } = await import('../emulator/index.js');
  const emulator = await startEmulator({ port: 0, host: '127.0.0.1', sampleData: true });
  endpoint = emulator.endpoint;
  stopEmulator = emulator.close;
}

const started = Date.now();
const server = await startServer(config, logger, endpoint).catch(async (err: unknown) => {
  // A configuration mistake (port in use, no password on a public address): say it plainly, no stack.
  console.error(`aws-sql-bridge: ${(err as Error).message}`);
  await stopEmulator?.();
  process.exit(1);
});
// The first SIGTERM or SIGINT drains (see RunningServer.shutdown); a second one stops the process at once.
const shutdown = async (signal: string) => {
  logger.info({ signal }, `${signal} received`);
  try {
    await server.shutdown(config.shutdownTimeoutMs);
    await stopEmulator?.();
    process.exit(0);
  } catch (err) {
    logger.error({ err }, 'shutdown failed');
    process.exit(1);
  }
};
// Once ready, not before: start-up's code runs once, and compiling more of it would delay ready.
const interruptBudget = tierUpSooner();
logger.debug(
  interruptBudget === undefined
    ? { interruptBudget: 'set by the operator' }
    : { interruptBudget, why: 'a server runs the same paths: compiled sooner' },
  'V8 interrupt budget',
);
// Installed before the ready lines go out, so a signal sent on seeing them is always a graceful one.
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

const user = Object.keys(config.auth.users)[0] ?? 'postgres';
console.log(
  `aws-sql-bridge listening on ${config.host}:${server.port} (ready in ${Date.now() - started} ms)`,
);
if (server.metricsPort !== undefined)
  console.log(`metrics on http://${config.host}:${server.metricsPort}/metrics (and /healthz, /readyz)`);
if (config.demo)
  console.log(`demo mode: Cloud Control emulator at ${endpoint}, regions ${config.regions.join(', ')}`);
console.log(`connect with: psql "host=${config.host} port=${server.port} dbname=aws user=${user}"`);
