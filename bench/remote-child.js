// Child process of bench-sync: one remote site doing init + one sync, so that its own peak memory
// can be measured apart from the central's. Prints one JSON line.
'use strict';
const { composeRemoteSite } = require('@sitesync/remote-site');
const { sha256Hex } = require('@sitesync/http');

async function main() {
  const [file, centralUrl, siteName, password, mode] = process.argv.slice(2);
  const remote = await composeRemoteSite(file);
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    if (mode === 'init') await remote.site.init({ centralUrl, siteName, passwordSha256: sha256Hex(password), hardwareId: `bench-${siteName}` });
    const start = process.hrtime.bigint();
    const outcome = await remote.site.sync();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
    process.stdout.write(`${JSON.stringify({ ...outcome, seconds, peakRss: peak })}\n`);
  } finally {
    await remote.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
