/**
 * A TCP proxy in front of PostgreSQL that a test switches on and off: "refuse" accepts and at
 * once closes every connection (a database that is down), "forward" pipes to the real server;
 * cut() drops every connection in flight (a network cut or a failover).
 */
import net from 'node:net';

export class TcpProxy {
  mode: 'refuse' | 'forward';
  private readonly server: net.Server;
  private readonly live = new Set<net.Socket>();
  /** Connections accepted in each mode, for assertions. */
  readonly accepted = { refuse: 0, forward: 0 };

  private constructor(
    private readonly target: { host: string; port: number },
    mode: 'refuse' | 'forward',
  ) {
    this.mode = mode;
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(targetUrl: string, mode: 'refuse' | 'forward'): Promise<TcpProxy> {
    const u = new URL(targetUrl);
    const proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) }, mode);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The target URL with this proxy's host and port instead (same user, password, database). */
  urlFor(targetUrl: string): string {
    const u = new URL(targetUrl);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  cut(): void {
    for (const s of this.live) s.destroy();
    this.live.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted[this.mode]++;
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ]) {
      this.live.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.live.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }
}
