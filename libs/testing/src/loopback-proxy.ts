/**
 * A TCP proxy on loopback in front of a server, whose open connections a test can break the two ways a network
 * does:
 * - `cutAll()` destroys both sockets of every connection at once, abruptly: each side sees the other vanish.
 * - `silenceAll()` stops forwarding bytes both ways without closing anything, as a dropped network, a sleeping
 *   laptop or a NAT that forgot the flow does: neither side gets a FIN or a RST; only a heartbeat can tell.
 * New connections after either pass normally (the network is back).
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface LoopbackProxy {
  /** `http://127.0.0.1:<port>`, to use instead of the target's URL. */
  readonly url: string;
  /** Connections open through the proxy (silenced ones included until a side closes them). */
  readonly open: number;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Destroys every open connection; returns how many. */
  cutAll(): number;
  /** Silences every open connection: bytes are read and dropped, nothing is closed. Returns how many. */
  silenceAll(): number;
  close(): Promise<void>;
}

/** Starts a proxy to `targetUrl`'s host and port. */
export async function startLoopbackProxy(targetUrl: string): Promise<LoopbackProxy> {
  const target = new URL(targetUrl);
  const pairs = new Set<{ client: Socket; upstream: Socket; silent: boolean }>();
  let cuts = 0;
  const destroy = (pair: { client: Socket; upstream: Socket }): void => {
    pair.client.destroy();
    pair.upstream.destroy();
  };
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair = { client, upstream, silent: false };
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      destroy(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    // Forward by hand rather than pipe(): a silenced pair keeps reading (so no backpressure reaches the sender's
    // kernel either) and drops what it reads.
    client.on('data', (chunk: Buffer) => void (pair.silent || upstream.write(chunk)));
    upstream.on('data', (chunk: Buffer) => void (pair.silent || client.write(chunk)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get open() {
      return pairs.size;
    },
    get cuts() {
      return cuts;
    },
    cutAll() {
      const n = pairs.size;
      for (const pair of [...pairs]) destroy(pair);
      pairs.clear();
      cuts += n;
      return n;
    },
    silenceAll() {
      for (const pair of pairs) pair.silent = true;
      return pairs.size;
    },
    async close() {
      for (const pair of pairs) destroy(pair);
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
