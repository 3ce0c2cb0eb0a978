/**
 * Where OAuth tokens live between restarts. The durable store (SQLite/PostgreSQL) will
 * implement this too; until then a JSON file with mode 0600 under the data directory.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface StoredToken {
  access_token: string;
  refresh_token?: string;
  token_type?: string;
  scope?: string;
  /** Epoch ms; absent when the CRM gave no expiry. */
  expires_at?: number;
  obtained_at: number;
}

export interface TokenStore {
  get(connectorId: string): Promise<StoredToken | undefined>;
  set(connectorId: string, token: StoredToken): Promise<void>;
  delete(connectorId: string): Promise<void>;
}

export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, StoredToken>();
  async get(id: string) { return this.tokens.get(id); }
  async set(id: string, t: StoredToken) { this.tokens.set(id, t); }
  async delete(id: string) { this.tokens.delete(id); }
}

export class FileTokenStore implements TokenStore {
  constructor(private readonly file: string) {}

  private read(): Record<string, StoredToken> {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, StoredToken>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
  }

  private write(all: Record<string, StoredToken>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    // Write-then-rename so a crash never leaves a half-written token file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }

  async get(id: string) { return this.read()[id]; }
  async set(id: string, t: StoredToken) { const all = this.read(); all[id] = t; this.write(all); }
  async delete(id: string) { const all = this.read(); delete all[id]; this.write(all); }
}
