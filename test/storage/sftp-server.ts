/**
 * A real SFTP server for the tests: ssh2's Server with an SFTP subsystem on a loopback port,
 * writing into a temporary folder (its root: absolute paths land inside it too). A throwaway
 * ed25519 host key; password auth and public-key auth (with the signature checked). Rename
 * refuses to replace an existing file, as SFTP v3 (OpenSSH without posix-rename) does. It can
 * be stopped and started again on the same port, to play an outage.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server, utils, type Connection, type ParsedKey } from 'ssh2';

const { STATUS_CODE, flagsToString } = utils.sftp;

export interface TestSftpServer {
  port: number;
  root: string;
  /** The host key's fingerprint as ssh-keygen prints it (SHA256:…). */
  fingerprint: string;
  user: string;
  password: string;
  /** A client key with a passphrase (OpenSSH format), whose public half the server accepts. */
  clientKey: { privateKey: string; passphrase: string };
  /** Every file under root, relative, sorted (temp files included). */
  files(): string[];
  read(rel: string): Buffer;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Logins that succeeded, by method. */
  logins: string[];
}

export async function startSftpServer(): Promise<TestSftpServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sftp-root-'));
  const host = utils.generateKeyPairSync('ed25519');
  const hostKey = utils.parseKey(host.private) as ParsedKey;
  const fingerprint = `SHA256:${crypto.createHash('sha256').update(hostKey.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
  const passphrase = 'pass-phrase-41c7';
  const client = utils.generateKeyPairSync('ed25519', { passphrase, cipher: 'aes256-ctr', rounds: 4 } as never);
  const allowed = utils.parseKey(client.public) as ParsedKey;
  const user = 'ujet';
  const password = 'sftp-pass-9d2e';
  const connections = new Set<Connection>();
  const logins: string[] = [];

  const inside = (p: string) => {
    const abs = path.resolve(root, `.${path.posix.resolve('/', p)}`);
    if (abs !== root && !abs.startsWith(root + path.sep)) throw new Error('outside root');
    return abs;
  };

  const server = new Server({ hostKeys: [host.private] }, (conn) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      if (ctx.username !== user) return ctx.reject();
      if (ctx.method === 'password' && ctx.password === password) {
        logins.push('password');
        return ctx.accept();
      }
      if (ctx.method === 'publickey' && ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH())) {
        if (!ctx.signature) return ctx.accept();
        if (allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo as never) === true) {
          logins.push('publickey');
          return ctx.accept();
        }
      }
      return ctx.reject(['password', 'publickey']);
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        accept().on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          const handles = new Map<number, number>();
          let next = 1;
          const handleOf = (b: Buffer) => handles.get(b.readUInt32BE(0));
          const guard = (id: number, f: () => void) => {
            try {
              f();
            } catch (e) {
              sftp.status(id, (e as NodeJS.ErrnoException).code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.FAILURE);
            }
          };
          sftp.on('OPEN', (id, filename, flags) =>
            guard(id, () => {
              const fd = fs.openSync(inside(filename), flagsToString(flags) ?? 'r');
              const h = Buffer.alloc(4);
              h.writeUInt32BE(next);
              handles.set(next++, fd);
              sftp.handle(id, h);
            }),
          );
          sftp.on('WRITE', (id, handle, offset, data) =>
            guard(id, () => {
              fs.writeSync(handleOf(handle)!, data, 0, data.length, offset);
              sftp.status(id, STATUS_CODE.OK);
            }),
          );
          sftp.on('READ', (id, handle, offset, length) =>
            guard(id, () => {
              const buf = Buffer.alloc(length);
              const n = fs.readSync(handleOf(handle)!, buf, 0, length, offset);
              if (n === 0) sftp.status(id, STATUS_CODE.EOF);
              else sftp.data(id, buf.subarray(0, n));
            }),
          );
          sftp.on('FSTAT', (id, handle) =>
            guard(id, () => {
              const st = fs.fstatSync(handleOf(handle)!);
              sftp.attrs(id, { mode: st.mode, size: st.size, uid: 0, gid: 0, atime: 0, mtime: 0 });
            }),
          );
          sftp.on('CLOSE', (id, handle) =>
            guard(id, () => {
              const k = handle.readUInt32BE(0);
              fs.closeSync(handles.get(k)!);
              handles.delete(k);
              sftp.status(id, STATUS_CODE.OK);
            }),
          );
          const stat = (id: number, p: string) =>
            guard(id, () => {
              const st = fs.statSync(inside(p));
              sftp.attrs(id, { mode: st.mode, size: st.size, uid: 0, gid: 0, atime: 0, mtime: 0 });
            });
          sftp.on('STAT', stat);
          sftp.on('LSTAT', stat);
          sftp.on('MKDIR', (id, p) =>
            guard(id, () => {
              fs.mkdirSync(inside(p));
              sftp.status(id, STATUS_CODE.OK);
            }),
          );
          sftp.on('REMOVE', (id, p) =>
            guard(id, () => {
              fs.unlinkSync(inside(p));
              sftp.status(id, STATUS_CODE.OK);
            }),
          );
          sftp.on('RENAME', (id, from, to) =>
            guard(id, () => {
              if (fs.existsSync(inside(to))) throw new Error('exists');
              fs.renameSync(inside(from), inside(to));
              sftp.status(id, STATUS_CODE.OK);
            }),
          );
          sftp.on('REALPATH', (id, p) => sftp.name(id, [{ filename: path.posix.resolve('/', p), longname: '', attrs: {} as never }]));
        });
      });
    });
  });

  let port = 0;
  const s: TestSftpServer = {
    get port() {
      return port;
    },
    root,
    fingerprint,
    user,
    password,
    logins,
    clientKey: { privateKey: client.private, passphrase },
    files: () => walk(root).sort(),
    read: (rel) => fs.readFileSync(path.join(root, rel)),
    start: () =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          port = (server.address() as AddressInfo).port;
          server.off('error', reject);
          resolve();
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.end();
        server.close(() => resolve());
      }),
    close: async () => {
      await s.stop().catch(() => undefined);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  await s.start();
  return s;
}

function walk(dir: string, rel = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? [`${r}/`, ...walk(path.join(dir, e.name), r)] : [r];
  });
}
