/**
 * A TCP proxy on loopback whose open connections can go silent: `silenceAll()` stops forwarding bytes both ways
 * without closing anything, as a dropped network, a sleeping laptop or a NAT that forgot the flow does. Neither
 * side gets a FIN or a RST; only a heartbeat can tell. New connections after it pass normally (the network is back).
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface SilentProxy {
  /** `http://127.0.0.1:<port>`, to use instead of the target's URL. */
  readonly url: string;
  /** Connections open through the proxy (silenced ones included until a side closes them). */
  readonly open: number;
  /** Silences every open connection: bytes are read and dropped, nothing is closed. Returns how many. */
  silenceAll(): number;
  close(): Promise<void>;
}

/** Starts a proxy to `targetUrl`'s host and port. */
export async function startSilentProxy(targetUrl: string): Promise<SilentProxy> {
  const target = new URL(targetUrl);
  const pairs = new Set<{ client: Socket; upstream: Socket; silent: boolean }>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair = { client, upstream, silent: false };
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
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
    silenceAll() {
      for (const pair of pairs) pair.silent = true;
      return pairs.size;
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
