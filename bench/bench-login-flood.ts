/**
 * npm run bench:login-flood — the latency of a normal push while another source floods the central
 * with bad logins: the central on the Postgres server over loopback HTTP, real scrypt. Three runs
 * of the same pushes: no flood (the baseline, in the same run), a flood from one address (cut off by
 * the per-source limit), and a flood from a new address for every attempt (the worst case the
 * limits allow: every attempt costs a scrypt, bounded only per name and per address).
 *
 *   --pushes N   pushes of 5 records measured per run (default 200)
 *   --flooders N concurrent bad-login loops (default 8)
 */
import { HttpCentralSyncGateway, sha256Hex } from '@sitesync/http';
import { withCentral } from './bench-central';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const PUSHES = Number(args.get('pushes') ?? 200);
const FLOODERS = Number(args.get('flooders') ?? 8);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  await withCentral(
    'flood',
    async (central, admin) => {
      await admin.addSite({ name: 'Bench site', password: 'bench-password' });
      const site = (await admin.listSites()).find((s) => s.name === 'Bench site')!;
      await admin.addStore({ code: 'S', name: 'Bench store', activeSiteId: site.id });
      const gateway = new HttpCentralSyncGateway({
        baseUrl: central.url,
        siteName: 'Bench site',
        passwordSha256: sha256Hex('bench-password'),
        hardwareId: 'bench-device',
      });
      await gateway.siteInfo(); // binds the device, caches the verified credentials

      let batch = 0;
      const measure = async (): Promise<number[]> => {
        const times: number[] = [];
        for (let i = 0; i < PUSHES; i++) {
          const records = Array.from({ length: 5 }, (_, j) => ({ type: 'stock_line', id: `sl-${batch}-${j}`, storeId: 'S', data: { packs: j } }));
          const started = performance.now();
          await gateway.push(`bench:${batch++}`, records);
          times.push(performance.now() - started);
        }
        return times.sort((a, b) => a - b);
      };

      const flood = (rotateAddresses: boolean) => {
        let stop = false;
        let attempts = 0;
        let limited = 0;
        const loops = Array.from({ length: FLOODERS }, async (_, loop) => {
          for (let n = 0; !stop; n++) {
            const response = await fetch(`${central.url}/sync/v1/site`, {
              headers: {
                authorization: `Basic ${Buffer.from(`Bench site:${sha256Hex(`guess-${loop}-${n}`)}`).toString('base64')}`,
                'x-sitesync-api-version': '1',
                'x-sitesync-hardware-id': `attacker-${loop}`,
                ...(rotateAddresses ? { 'x-forwarded-for': `10.${loop}.${(n >> 8) & 255}.${n & 255}` } : {}),
              },
            });
            await response.arrayBuffer();
            attempts++;
            if (response.status === 429) limited++;
          }
        });
        return {
          async end() {
            stop = true;
            await Promise.all(loops);
            return { attempts, limited };
          },
        };
      };

      const report = (label: string, times: number[], baseline?: number[]) => {
        const p50 = percentile(times, 50);
        const p99 = percentile(times, 99);
        const ratio = baseline ? `; p50 ${(p50 / percentile(baseline, 50)).toFixed(2)}x, p99 ${(p99 / percentile(baseline, 99)).toFixed(2)}x the baseline` : '';
        return `${label}: push of 5 records p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms${ratio}`;
      };

      const baseline = await measure();
      console.log(`sitesync login-flood benchmark, node ${process.version}, central on the Postgres server over loopback HTTP, ${FLOODERS} flooding loops`);
      console.log(report('(a) no flood (baseline)', baseline));

      const one = flood(false);
      const withOne = await measure();
      const oneCounts = await one.end();
      console.log(
        `${report('(b) bad logins from one address', withOne, baseline)} (${oneCounts.attempts} bad logins, ${oneCounts.limited} answered 429 unchecked)`,
      );

      const many = flood(true);
      const withMany = await measure();
      const manyCounts = await many.end();
      console.log(
        `${report('(c) bad logins from a new address each time (trust proxy on: worst case)', withMany, baseline)} (${manyCounts.attempts} bad logins, ${manyCounts.limited} answered 429 unchecked)`,
      );
    },
    { trustProxy: 1 },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
