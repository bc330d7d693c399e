import { connect, createServer, type Server, type Socket } from 'node:net';

/** How the proxied server behaves while it is down: refuses connections, or accepts and closes them at once. */
export type DownMode = 'refuse' | 'reset';

/**
 * When to restart the server: at the first query a connection sends (Postgres simple or extended
 * protocol) that matches `at`, on a connection that sent a query matching `after` before (if given).
 * `before`: the query never reaches the server. `after-reply`: it does and runs, and the restart
 * comes with the server's answer, which is lost (for a COMMIT: committed, but the client never knows).
 */
export interface RestartTrigger {
  readonly at: RegExp;
  readonly after?: RegExp;
  readonly when: 'before' | 'after-reply';
  /** how long the server stays down (default 300 ms) */
  readonly downMs?: number;
  readonly mode?: DownMode;
}

interface Connection {
  readonly client: Socket;
  readonly server: Socket;
  /** the client's stream split into protocol messages as it passes */
  readonly framer: Framer;
  sawAfter: boolean;
  /** set when the server's next answer is to be lost: the restart begins instead */
  onReply: (() => void) | null;
}

/**
 * A TCP proxy in front of a Postgres server that a test can "restart": every proxied connection is
 * destroyed and, for a moment, new connections are refused (or accepted and closed), as a real
 * server restart looks to its clients. The real server is never touched.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  private down: DownMode | null = null;
  private trigger: { readonly rule: RestartTrigger; readonly done: (query: string) => void } | null = null;
  /** connections accepted and passed through */
  accepted = 0;
  /** restarts done */
  restarts = 0;

  private constructor(
    private readonly target: { readonly host: string; readonly port: number },
    private listenPort: number,
  ) {}

  /** A proxy on a free loopback port in front of `databaseUrl`'s server. */
  static async start(databaseUrl: string): Promise<TcpProxy> {
    const url = new URL(databaseUrl);
    const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 5432) }, 0);
    await proxy.listen();
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  /** `databaseUrl` pointed at this proxy (same database, user and options). */
  urlFor(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.listenPort);
    return url.toString();
  }

  /** Proxied connections open now. */
  get open(): number {
    return this.connections.size;
  }

  /** Destroys every proxied connection; until `up()`, new ones are refused or reset. */
  async cut(mode: DownMode = 'refuse'): Promise<void> {
    this.down = mode;
    for (const c of this.connections) this.destroy(c);
    if (mode === 'refuse') await this.unlisten();
  }

  /** Lets connections through again. */
  async up(): Promise<void> {
    this.down = null;
    if (!this.server) await this.listen();
  }

  /** A restart: cut, down for `downMs`, up. */
  async restart(downMs = 300, mode: DownMode = 'refuse'): Promise<void> {
    await this.cut(mode);
    this.restarts++;
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.up();
  }

  /**
   * Restarts the server when a query matches `rule` (see RestartTrigger). The promise settles once
   * the server is up again, with the query that triggered it.
   */
  restartWhen(rule: RestartTrigger): Promise<string> {
    if (this.trigger) throw new Error('a restart is already armed');
    return new Promise((resolve) => {
      this.trigger = { rule, done: resolve };
    });
  }

  async close(): Promise<void> {
    this.trigger = null;
    for (const c of this.connections) this.destroy(c);
    await this.unlisten();
  }

  private listen(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        this.listenPort = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  private unlisten(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.down) {
      client.destroy();
      return;
    }
    this.accepted++;
    const server = connect(this.target.port, this.target.host);
    const c: Connection = { client, server, framer: new Framer(), sawAfter: false, onReply: null };
    this.connections.add(c);
    client.setNoDelay(true);
    server.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      if (this.inspect(c, chunk) === 'drop') return;
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (c.onReply) {
        const restart = c.onReply;
        c.onReply = null;
        restart();
        return;
      }
      client.write(chunk);
    });
    const end = () => this.destroy(c);
    for (const socket of [client, server]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  }

  private destroy(c: Connection): void {
    this.connections.delete(c);
    c.client.destroy();
    c.server.destroy();
  }

  /** Checks each query the client sends against the armed trigger. */
  private inspect(c: Connection, chunk: Buffer): 'forward' | 'drop' {
    for (const query of c.framer.queries(chunk)) {
      const rule = this.trigger?.rule;
      if (!rule) continue;
      if (rule.after && !c.sawAfter) {
        if (rule.after.test(query)) c.sawAfter = true;
        continue;
      }
      if (!rule.at.test(query)) continue;
      const { done } = this.trigger!;
      this.trigger = null;
      const restart = () => void this.restart(rule.downMs ?? 300, rule.mode ?? 'refuse').then(() => done(query));
      if (rule.when === 'before') {
        restart();
        return 'drop';
      }
      c.onReply = restart;
    }
    return 'forward';
  }
}

const QUERY = 'Q'.charCodeAt(0);
const PARSE = 'P'.charCodeAt(0);
/** SSLRequest and GSSENCRequest: sent before the startup message, which follows them */
const PRE_STARTUP_CODES = [80877103, 80877104];

/**
 * Splits a Postgres client's stream into messages (the startup message has no type byte, every
 * later one has) and yields the SQL of simple queries ('Q') and of statements parsed ('P'). Other
 * messages (a push's large Bind) are skipped without being buffered.
 */
class Framer {
  private startupDone = false;
  private head = Buffer.alloc(0);
  private type = 0;
  private left = 0;
  private body: Buffer[] | null = null;

  queries(chunk: Buffer): string[] {
    const out: string[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.left === 0 && this.body === null) {
        const size = this.startupDone ? 5 : 4;
        const take = Math.min(size - this.head.length, chunk.length - i);
        this.head = Buffer.concat([this.head, chunk.subarray(i, i + take)]);
        i += take;
        if (this.head.length < size) break;
        this.type = this.startupDone ? this.head[0]! : 0;
        this.left = this.head.readInt32BE(this.startupDone ? 1 : 0) - 4;
        this.head = Buffer.alloc(0);
        this.body = this.type === 0 || this.type === QUERY || this.type === PARSE ? [] : null;
        if (this.body === null) continue;
      }
      const take = Math.min(this.left, chunk.length - i);
      this.body?.push(chunk.subarray(i, i + take));
      this.left -= take;
      i += take;
      if (this.left > 0) break;
      const body = this.body === null ? null : Buffer.concat(this.body);
      this.body = null;
      if (body === null) continue;
      if (this.type === 0) this.startupDone = !PRE_STARTUP_CODES.includes(body.length >= 4 ? body.readInt32BE(0) : 0);
      else out.push(queryText(this.type, body));
    }
    return out;
  }
}

/** The SQL of a simple query (`text\0`) or of a statement being parsed (`name\0text\0...`). */
function queryText(type: number, body: Buffer): string {
  const from = type === PARSE ? body.indexOf(0) + 1 : 0;
  return body.subarray(from, body.indexOf(0, from)).toString('utf8');
}
