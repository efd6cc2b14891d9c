/**
 * Persists what must survive a restart of Node-RED: the newest (possibly
 * rotated) refresh token, its absolute expiry and the geolocation. One JSON
 * file per config node, written atomically (temp file + fsync + rename) with
 * mode 0600. Client secrets and access tokens are never written.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface StoredTokenState {
  /** Identifies the configured credentials this state belongs to (a hash, not a secret). */
  seed: string;
  refreshToken: string;
  /** Absolute epoch seconds (Concur's refresh_expires_in), if known. */
  refreshExpiresAt?: number;
  geolocation?: string;
  updatedAt: string;
}

export interface TokenStore {
  load(): StoredTokenState | undefined;
  save(state: StoredTokenState): void;
  clear(): void;
  /** Where the state lives (for help text and logs). */
  readonly location: string;
}

/** What several instances of one connection share: the refresh state plus the current access token. */
export interface SharedTokenState extends StoredTokenState {
  accessToken?: string;
  accessApiBase?: string;
  /** Epoch ms when instances stop using the access token. */
  accessRenewAt?: number;
}

/**
 * A token state shared by several Node-RED instances (PostgreSQL:
 * ./pg-token-store.ts). `withLock` runs `fn` holding a lock no other instance
 * can hold at the same time, with the state as read after getting it; what
 * `fn` returns as `write` is stored before the lock is released (null deletes).
 */
export interface SharedTokenStore {
  readonly location: string;
  read(): Promise<SharedTokenState | undefined>;
  /** Rejects with `error` (after writing) when `fn` returns one. */
  withLock<T>(fn: (state: SharedTokenState | undefined) => Promise<{ result?: T; error?: unknown; write?: SharedTokenState | null }>): Promise<T>;
  clear(): Promise<void>;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Config node ids are hex, but never trust a file name we did not make. */
export function tokenFileName(id: string): string {
  return `${String(id)
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^\.+/, '_')}.json`;
}

export class FileTokenStore implements TokenStore {
  readonly location: string;

  constructor(dir: string, id: string) {
    this.location = path.join(dir, tokenFileName(id));
  }

  load(): StoredTokenState | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const v = JSON.parse(text) as Partial<StoredTokenState>;
    if (!v || typeof v.refreshToken !== 'string' || typeof v.seed !== 'string') return undefined;
    return {
      seed: v.seed,
      refreshToken: v.refreshToken,
      refreshExpiresAt: typeof v.refreshExpiresAt === 'number' ? v.refreshExpiresAt : undefined,
      geolocation: typeof v.geolocation === 'string' ? v.geolocation : undefined,
      updatedAt: String(v.updatedAt ?? ''),
    };
  }

  save(state: StoredTokenState): void {
    const dir = path.dirname(this.location);
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    const tmp = `${this.location}.${process.pid}.${Date.now()}.tmp`;
    const fd = fs.openSync(tmp, 'w', FILE_MODE);
    try {
      fs.writeSync(fd, JSON.stringify(state, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.chmodSync(tmp, FILE_MODE); // umask may have widened it
      fs.renameSync(tmp, this.location);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    // Make the rename itself durable.
    try {
      const dfd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch {
      /* some file systems cannot fsync a directory */
    }
  }

  clear(): void {
    fs.rmSync(this.location, { force: true });
  }
}

/** In-memory store, for unit tests and for "Test connection" without persistence. */
export class MemoryTokenStore implements TokenStore {
  readonly location = '(memory)';
  private state: StoredTokenState | undefined;
  load() {
    return this.state ? { ...this.state } : undefined;
  }
  save(s: StoredTokenState) {
    this.state = { ...s };
  }
  clear() {
    this.state = undefined;
  }
}
