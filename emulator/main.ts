import { parseCliArgs, usage } from './cli-args.js';
import { startEmulator } from './index.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

let options;
try {
  options = parseCliArgs(argv);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n${usage}\n`);
  process.exit(2);
}

try {
  const emulator = await startEmulator(options);
  // Exactly one stdout line: scripts and tests wait for it to know the port.
  process.stdout.write(`Cloud Control emulator listening on ${emulator.endpoint}\n`);
  const stop = () => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (e) {
  process.stderr.write(`Cloud Control emulator failed to start: ${(e as Error).message}\n`);
  process.exit(1);
}
