import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ListeningServer {
  /** http://host:port, no trailing slash. */
  url: string;
  port: number;
  /** Stop listening for `ms` (new connections get ECONNREFUSED), then listen again on the same port; 0 ends a refusal now. */
  refuse(ms: number): void;
  close(): Promise<void>;
}

export async function listen(handler: RequestListener, port = 0, host = '127.0.0.1'): Promise<ListeningServer> {
  const server = createServer(handler);
  // server.close() alone waits for idle keep-alive sockets (the gateway's HTTP agent keeps
  // them open), which would hang test teardown; so we track and destroy them ourselves.
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  let reopen: NodeJS.Timeout | undefined;

  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    refuse(ms) {
      if (closing) return;
      if (reopen) clearTimeout(reopen);
      else if (ms > 0) server.close();
      else return;
      const listenAgain = () => {
        reopen = undefined;
        if (!closing) server.listen(address.port, host);
      };
      // 0: end a refusal now (faults cleared).
      if (ms > 0) reopen = setTimeout(listenAgain, ms);
      else listenAgain();
    },
    close() {
      if (reopen) {
        clearTimeout(reopen);
        reopen = undefined;
        closing = new Promise<void>((resolve) => {
          server.closeAllConnections();
          for (const socket of sockets) socket.destroy();
          resolve();
        });
      }
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
