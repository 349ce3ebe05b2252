import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL for connection faults. `stall()` makes every connection open at that moment
 * stop forwarding in both directions without closing (what a hung pooler or a load balancer that silently dropped
 * its flows does): bytes sent on them go nowhere, no error, no FIN. Connections opened later are forwarded as usual.
 * `cut()` is an outage that is noticed: every connection is reset and new ones are closed at once, until `resume()`.
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; stalled: boolean }>();
  port = 0;
  /** Connections closed at once while cut. */
  refused = 0;
  private isCut = false;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => {
      if (this.isCut) {
        this.refused++;
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      const pair = { client, upstream, stalled: false };
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (chunk) => {
          if (!pair.stalled) to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const socket of [client, upstream]) {
        socket.on('error', end);
        // A stalled flow never passes a close on: the other side would notice it.
        socket.on('close', () => !pair.stalled && end());
      }
    });
  }

  /** Starts a proxy to the host and port of `url` on a free local port; returns it with `url` rewritten to use it. */
  static async start(url: string): Promise<{ proxy: TcpProxy; url: string }> {
    const target = new URL(url);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as { port: number }).port;
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    return { proxy, url: proxied.toString() };
  }

  /** Connections currently open through the proxy that still forward. */
  get liveConnections(): number {
    return [...this.pairs].filter((pair) => !pair.stalled).length;
  }

  /** Every connection open now stops forwarding, silently; returns how many. */
  stall(): number {
    let stalled = 0;
    for (const pair of this.pairs) {
      if (pair.stalled) continue;
      pair.stalled = true;
      stalled++;
    }
    return stalled;
  }

  /** Resets every connection and refuses new ones until resume(). */
  cut(): void {
    this.isCut = true;
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  resume(): void {
    this.isCut = false;
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
