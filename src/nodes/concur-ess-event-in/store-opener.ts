/**
 * concur-ess-event-in: opening the configured event store, the journal file of
 * this Node-RED or a PostgreSQL table shared by several instances.
 *
 * A failure that may pass (disk full, directory missing, database down) is a
 * StoreOpenError: the adapter retries it with backoff and answers 503 meanwhile
 * (ESS retries). Anything else is a configuration error.
 *
 * One node per journal file at a time: a redeployed node waits for its
 * predecessor to close the file (`fileOwners`).
 */
import * as path from 'node:path';
import { FileEventStore, type EventStore } from '../../concur/event-store';
import type { PgDatabase } from '../../concur/pg-database';
import { PgEventStore } from '../../concur/pg-event-store';
import { type EssInDef, type EssSettings, fileStoreLimits } from './settings';

const MiB = 1024 * 1024;

export class StoreOpenError extends Error {}

/** A concur-store config node, as this adapter sees it (adapters never import each other). */
export interface StoreConfigNode {
  database(): PgDatabase;
  release(): void;
  leaseMs?: number;
}

/** Who holds each journal file; `closed` is set while the holder closes it. */
const fileOwners = new Map<string, { owner: string; closed?: Promise<void> }>();

export interface OpenContext {
  nodeId: string;
  def: EssInDef;
  settings: EssSettings;
  /** The journal file (file store). */
  file: string;
  /** The concur-store node (shared store), if one is selected. */
  storeNode: StoreConfigNode | null | undefined;
  isClosing(): boolean;
  /** A non-fatal finding at open (torn tail, over the memory limit): for the log; `badge` also for the status. */
  warn(text: string, badge?: string): void;
}

export class EssStoreOpener {
  readonly shared: boolean;
  private readonly holder: { owner: string; closed?: Promise<void> } | undefined;
  private db: PgDatabase | undefined;

  constructor(private readonly c: OpenContext) {
    this.shared = Boolean(c.def.store);
    // Taken at deploy, before any other node of this deploy claims the file.
    this.holder = this.shared ? undefined : fileOwners.get(c.file);
  }

  /** Opens the store; undefined when the node closed meanwhile. */
  async open(): Promise<EventStore | undefined> {
    return this.shared ? this.openShared() : this.openFile();
  }

  private async openShared(): Promise<EventStore> {
    const { storeNode, def, nodeId, settings } = this.c;
    if (!storeNode || typeof storeNode.database !== 'function') throw new Error('the selected store (concur-store) is missing or not deployed');
    this.db ??= storeNode.database();
    const stream = String(def.storeName ?? '').trim() || nodeId;
    try {
      return await PgEventStore.open(this.db, {
        stream,
        dedupeWindowMs: settings.keepIdsMs,
        deadLetterMax: settings.deadLetterMax,
        leaseMs: storeNode.leaseMs,
      });
    } catch (err) {
      throw new StoreOpenError(`${this.db.location}: ${(err as Error).message}`);
    }
  }

  private async openFile(): Promise<EventStore | undefined> {
    const { file, nodeId, def, settings } = this.c;
    const holder = this.holder;
    if (holder && holder.owner !== nodeId && !holder.closed) {
      throw new Error(`store "${path.basename(file)}" is already used by node ${holder.owner}; set a different store name`);
    }
    if (holder?.closed) await holder.closed; // our predecessor (redeploy) is still closing the file
    if (this.c.isClosing()) return undefined;
    fileOwners.set(file, { owner: nodeId });
    let store: FileEventStore;
    try {
      store = await FileEventStore.open({
        file,
        dedupeWindowMs: settings.keepIdsMs,
        sync: def.durability !== 'write',
        deadLetterMax: settings.deadLetterMax,
        ...fileStoreLimits(def),
      });
    } catch (err) {
      throw new StoreOpenError((err as Error).message);
    }
    const name = path.basename(file);
    const st = store.journal.getStats();
    if (st.corruptLines || st.tornTailBytes) {
      this.c.warn(`event store ${name}: skipped ${st.corruptLines} unreadable line(s) and a ${st.tornTailBytes}-byte torn tail (never acknowledged)`);
    }
    // Already over the dedupe memory limit (a lower limit, or ids replayed from a busier time): say so now, not at the first 503.
    const mem = store.journal.memory();
    if (mem.dedupe >= mem.limits.dedupe) {
      this.c.warn(
        `event store ${name}: the ids in the dedupe window take ${Math.round(mem.dedupe / MiB)} MiB, ` +
          `over the ${Math.round(mem.limits.dedupe / MiB)} MiB "Dedupe memory" limit; ` +
          'new events get 503 until old ids leave the window (raise the limit or shorten the window)',
        '503 memory limit',
      );
    }
    return store;
  }

  /** A failed open's message for the log: which store. */
  describe(): string {
    return this.shared ? 'event store' : `event store ${this.c.file}`;
  }

  /** The node closes: `closed` settles once the store is closed (a redeployed node with the same file waits for it). */
  closing(closed: Promise<void>): void {
    if (this.shared) return;
    const cur = fileOwners.get(this.c.file);
    if (!cur || cur.owner === this.c.nodeId) fileOwners.set(this.c.file, { owner: this.c.nodeId, closed });
  }

  /** After the store is closed: the file is free, the database reference is released. */
  closed(closed: Promise<void>): void {
    if (this.db) this.c.storeNode?.release();
    if (this.shared) return;
    const cur = fileOwners.get(this.c.file);
    if (cur && cur.closed === closed) fileOwners.delete(this.c.file);
  }
}
