#!/usr/bin/env node
import { renderDemo } from './demo';
import { runLiveDemo } from './live-demo';

if (process.argv.includes('--rules')) {
  process.stdout.write(`${renderDemo()}\n`);
} else {
  runLiveDemo().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
