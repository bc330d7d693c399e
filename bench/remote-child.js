// Child process of bench-sync and bench-scope: one remote site (SQLite file) doing `init` (mode "init")
// or not, then one sync against the central over HTTP, so that its own CPU time and peak memory are
// measured apart from the central's. Measures the sync, when its last pulled batch was applied and its
// pull requests. Prints one JSON line.
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
    let pullRequests = 0;
    let received = 0;
    let lastBatchAt = 0;
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const outcome = await remote.site.sync((progress) => {
      if (progress.phase !== 'pull') return;
      pullRequests++;
      if (progress.received > received) {
        received = progress.received;
        lastBatchAt = Number(process.hrtime.bigint() - start) / 1e9;
      }
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
    const result = { ...outcome, seconds, lastBatchSeconds: lastBatchAt, pullRequests, cpuSeconds: (used.user + used.system) / 1e6, peakRss: peak };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await remote.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
