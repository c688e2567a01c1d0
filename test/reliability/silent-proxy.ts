// A TCP proxy in front of the database that can fall silent: it keeps every
// connection open but passes nothing either way, and accepts new connections
// without answering them. That is what a network partition without resets, or
// a hung database server, looks like to a client: no error, no reply.
import net from 'node:net';

export interface SilentProxy {
  port: number;
  /** Stops passing bytes; connections stay open, new ones are accepted and left waiting. */
  silence(): void;
  /** Passes bytes again, and connects the connections that waited. */
  resume(): void;
  close(): Promise<void>;
}

export async function silentProxy(targetPort: number): Promise<SilentProxy> {
  let silent = false;
  const sockets = new Set<net.Socket>();
  const waiting: Array<() => void> = [];

  const connect = (client: net.Socket): void => {
    if (client.destroyed) return;
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    const pass = (from: net.Socket, to: net.Socket): void => {
      from.on('data', (chunk: Buffer) => {
        // Dropped while silent: what is sent during a partition never arrives.
        if (!silent) to.write(chunk);
      });
    };
    pass(client, upstream);
    pass(upstream, client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  };

  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (silent) waiting.push(() => connect(client));
    else connect(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    silence: () => {
      silent = true;
    },
    resume: () => {
      silent = false;
      for (const start of waiting.splice(0)) start();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
