/**
 * A real SMTP server for the tests (smtp-server, in process, on a loopback port): STARTTLS with
 * a throwaway self-signed certificate made by openssl for this run, PLAIN/LOGIN auth against
 * one user, and every accepted message kept raw and parsed (mailparser). `refuse` makes it
 * answer the next connections with a 421, `rejectRcpt` refuses recipients of a domain for good.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export interface ReceivedMail {
  raw: Buffer;
  parsed: ParsedMail;
  /** TLS was in force (STARTTLS) when the message came. */
  secure: boolean;
  user?: string;
  rcptTo: string[];
}

export interface TestSmtp {
  port: number;
  received: ReceivedMail[];
  connections: number;
  /** Answer this many next connections with 421 (temporarily unavailable). */
  refuse: number;
  /** Recipients at this domain get 550. */
  rejectDomain?: string;
  /** While set, a login waits for it before it is answered (the client is mid-conversation); `onLogin` hears of each login. */
  holdLogin?: Promise<void>;
  onLogin?: () => void;
  close(): Promise<void>;
}

export function selfSignedCert(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smtp-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function startSmtp(o: { key: string; cert: string; user: string; password: string; port?: number }): Promise<TestSmtp> {
  const state: TestSmtp = { port: 0, received: [], connections: 0, refuse: 0, close: async () => undefined };
  const server = new SMTPServer({
    key: o.key,
    cert: o.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    // Login only over TLS: the client has to upgrade with STARTTLS first.
    allowInsecureAuth: false,
    logger: false,
    onConnect(_session, cb) {
      state.connections++;
      if (state.refuse > 0) {
        state.refuse--;
        return cb(Object.assign(new Error('Service temporarily unavailable, try later'), { responseCode: 421 }));
      }
      cb();
    },
    onAuth(auth, _session, cb) {
      state.onLogin?.();
      if (state.holdLogin) {
        void state.holdLogin.then(() => answerLogin(auth, cb));
        return;
      }
      answerLogin(auth, cb);
    },
    onRcptTo(address, _session, cb) {
      if (state.rejectDomain && address.address.endsWith(`@${state.rejectDomain}`))
        return cb(Object.assign(new Error('No such user here'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            state.received.push({
              raw,
              parsed,
              secure: Boolean(session.secure),
              user: session.user as string | undefined,
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
            });
            cb();
          },
          (e) => cb(e),
        );
      });
    },
  });
  function answerLogin(auth: { username?: string | null; password?: string | null }, cb: (e: Error | null | undefined, r?: { user: string }) => void): void {
    if (auth.username === o.user && auth.password === o.password) return cb(null, { user: String(auth.username) });
    cb(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  state.port = (server.server.address() as AddressInfo).port;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

/** A loopback port nothing listens on (yet). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
