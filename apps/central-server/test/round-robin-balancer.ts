import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A load balancer for tests: an HTTP server on loopback that hands each request to the next of
 * `targets` in turn (round robin), as a balancer in front of several central processes does. So a
 * remote's site info, push and pull of one cycle reach different processes.
 */
export class RoundRobinBalancer {
  private next = 0;
  /** requests each target was given */
  readonly counts: number[];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    targets: readonly string[],
  ) {
    this.counts = targets.map(() => 0);
  }

  static async start(targets: readonly string[]): Promise<RoundRobinBalancer> {
    let balancer: RoundRobinBalancer | null = null;
    const server = createServer((req, res) => {
      const index = balancer!.next++ % targets.length;
      balancer!.counts[index]!++;
      const target = new URL(req.url ?? '/', targets[index]);
      const forwarded = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forwarded.on('error', (error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`balancer: ${error.message}`);
      });
      req.pipe(forwarded);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    balancer = new RoundRobinBalancer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, targets);
    return balancer;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
