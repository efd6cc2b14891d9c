/**
 * Live counters of the receivers (concur-ess-event-in, concur-legacy-notify-in),
 * one shared module so both report the same names, and the admin route
 *   GET <httpAdminRoot>/<type>/<node id>/counters   (permission <type>.read)
 * that answers JSON, or the Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/) when the
 * client asks for `text/plain` (as Prometheus' scraper does) or `?format=prometheus`.
 * An id with no running node is 404, or `200 { running: false }` with `?quiet=1` (the dialog).
 */
import type { RED } from './red-types';
import { needsPermission } from './permissions';

export interface CounterSnapshot {
  nodeId: string;
  nodeType: string;
  name?: string;
  /** Requests that reached the receiver route (every method, every outcome). */
  received: number;
  /** Events stored (ESS) or notifications handed to the flow (legacy) and acknowledged. */
  accepted: number;
  /** Events acknowledged again without a second message (event id seen before). */
  duplicates: number;
  /** Verified events acknowledged and dropped by the topic / eventType filter. */
  filtered: number;
  /** Requests refused, by reason. */
  rejected: Record<string, number>;
  rejectedTotal: number;
  /** Events whose flow failed or timed out (ESS: moved to the dead-letter record; legacy: answered 500). */
  failed: number;
  /** Stored events re-emitted after a restart. */
  redelivered: number;
  /** Events stored (or callouts held open) whose flow has not finished yet. */
  pending: number;
  /** Dead letters kept now (ESS) / failed callouts Concur keeps (legacy: same as failed). */
  dead: number;
  /** ISO time of the last accepted event, or null. */
  lastEventAt: string | null;
  /** ISO time the counters started (node start). */
  since: string;
  /** From the node's status badge: green = ok, yellow = degraded, red = error. */
  health: Health;
  /** The badge itself (text as shown in the editor). */
  status: { fill?: string; shape?: string; text?: string } | null;
}

export type Health = 'ok' | 'degraded' | 'error' | 'unknown';

export function healthOf(fill: string | undefined): Health {
  return fill === 'green' ? 'ok' : fill === 'yellow' ? 'degraded' : fill === 'red' ? 'error' : 'unknown';
}

export class ReceiverCounters {
  received = 0;
  accepted = 0;
  duplicates = 0;
  filtered = 0;
  failed = 0;
  redelivered = 0;
  readonly rejected = new Map<string, number>();
  lastEventAt: number | undefined;
  readonly since = Date.now();
  /** The node's last status badge (recorded by receiverCounters). */
  lastStatus: { fill?: string; shape?: string; text?: string } | null = null;
  /** Gauges read at snapshot time (the store knows them better than a counter could). */
  gauges: () => { pending?: number; dead?: number } = () => ({});

  constructor(
    readonly nodeId: string,
    readonly nodeType: string,
    readonly name?: string,
  ) {}

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  accept(at = Date.now()): void {
    this.accepted++;
    this.lastEventAt = at;
  }

  rejectedTotal(): number {
    let n = 0;
    for (const v of this.rejected.values()) n += v;
    return n;
  }

  snapshot(): CounterSnapshot {
    let g: { pending?: number; dead?: number } = {};
    try {
      g = this.gauges() ?? {};
    } catch {
      /* a closing store: report 0 rather than fail the route */
    }
    return {
      nodeId: this.nodeId,
      nodeType: this.nodeType,
      ...(this.name ? { name: this.name } : {}),
      received: this.received,
      accepted: this.accepted,
      duplicates: this.duplicates,
      filtered: this.filtered,
      rejected: Object.fromEntries([...this.rejected.entries()].sort(([a], [b]) => a.localeCompare(b))),
      rejectedTotal: this.rejectedTotal(),
      failed: this.failed,
      redelivered: this.redelivered,
      pending: g.pending ?? 0,
      dead: g.dead ?? this.failed,
      lastEventAt: this.lastEventAt ? new Date(this.lastEventAt).toISOString() : null,
      since: new Date(this.since).toISOString(),
      health: healthOf(this.lastStatus?.fill),
      status: this.lastStatus ? { ...this.lastStatus } : null,
    };
  }
}

function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

const METRICS: Array<{ name: string; type: 'counter' | 'gauge'; help: string; value: (s: CounterSnapshot) => number | null }> = [
  { name: 'concur_receiver_received_total', type: 'counter', help: 'Requests that reached the receiver route.', value: (s) => s.received },
  { name: 'concur_receiver_accepted_total', type: 'counter', help: 'Events accepted (stored and acknowledged).', value: (s) => s.accepted },
  {
    name: 'concur_receiver_duplicates_total',
    type: 'counter',
    help: 'Deliveries acknowledged as duplicates of an event already received.',
    value: (s) => s.duplicates,
  },
  {
    name: 'concur_receiver_filtered_total',
    type: 'counter',
    help: 'Verified events acknowledged and dropped by the topic/eventType filter.',
    value: (s) => s.filtered,
  },
  { name: 'concur_receiver_failed_total', type: 'counter', help: 'Events whose flow failed or timed out.', value: (s) => s.failed },
  { name: 'concur_receiver_redelivered_total', type: 'counter', help: 'Stored events emitted again after a restart.', value: (s) => s.redelivered },
  { name: 'concur_receiver_pending', type: 'gauge', help: 'Events stored whose flow has not finished.', value: (s) => s.pending },
  { name: 'concur_receiver_dead', type: 'gauge', help: 'Dead-lettered events kept now.', value: (s) => s.dead },
  {
    name: 'concur_receiver_last_event_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the last accepted event.',
    value: (s) => (s.lastEventAt ? Date.parse(s.lastEventAt) / 1000 : null),
  },
  {
    name: 'concur_receiver_healthy',
    type: 'gauge',
    help: '1 while the status badge is green, 0 when it is yellow or red.',
    value: (s) => (s.health === 'unknown' ? null : s.health === 'ok' ? 1 : 0),
  },
];

/** Prometheus text exposition format 0.0.4 for one or more receivers. */
export function prometheusText(snaps: CounterSnapshot[]): string {
  const lines: string[] = [];
  const labels = (s: CounterSnapshot, extra = '') => `{node_id="${labelValue(s.nodeId)}",node_type="${labelValue(s.nodeType)}"${extra}}`;
  const emit = (m: (typeof METRICS)[number]) => {
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of snaps) {
      const v = m.value(s);
      if (v !== null) lines.push(`${m.name}${labels(s)} ${v}`);
    }
  };
  for (const m of METRICS.slice(0, 4)) emit(m);
  lines.push('# HELP concur_receiver_rejected_total Requests refused, by reason.', '# TYPE concur_receiver_rejected_total counter');
  for (const s of snaps)
    for (const [reason, n] of Object.entries(s.rejected)) lines.push(`concur_receiver_rejected_total${labels(s, `,reason="${labelValue(reason)}"`)} ${n}`);
  for (const m of METRICS.slice(4)) emit(m);
  return lines.join('\n') + '\n';
}

/** Prometheus asks for text/plain (version=0.0.4) or the OpenMetrics type; a browser (Accept: any type) gets JSON. */
export function wantsPrometheus(accept: string | undefined, format: unknown): boolean {
  if (format === 'prometheus' || format === 'text') return true;
  if (format === 'json') return false;
  const a = String(accept ?? '').toLowerCase();
  if (!a) return false;
  const jsonAt = a.indexOf('application/json');
  const textAt = Math.max(a.indexOf('text/plain'), a.indexOf('application/openmetrics-text'));
  return textAt >= 0 && (jsonAt < 0 || textAt < jsonAt);
}

/** Running receivers' counters per type (several module copies may load in tests: keep one registry). */
const REGISTRY_KEY = Symbol.for('node-red-contrib-sap-concur.receiverCounters');
type Registry = Map<string, Map<string, ReceiverCounters>>;
function registry(): Registry {
  const g = globalThis as unknown as { [REGISTRY_KEY]?: Registry };
  return (g[REGISTRY_KEY] ??= new Map());
}

interface Res {
  statusCode: number;
  setHeader(k: string, v: string): void;
  end(b?: string): void;
}

/** Registers `GET /<type>/:id/counters` once per admin app. */
export function registerCountersRoute(RED: RED, type: string): void {
  const app = RED.httpAdmin as unknown as Record<symbol, boolean>;
  const key = Symbol.for(`node-red-contrib-sap-concur.countersRoute.${type}`);
  if (app[key]) return;
  app[key] = true;
  const needsRead = needsPermission(RED, `${type}.read`);
  RED.httpAdmin.get(
    `/${type}/:id/counters`,
    needsRead,
    (req: { params: { id: string }; headers: Record<string, string | undefined>; query?: Record<string, unknown> }, res: Res) => {
      const c = registry().get(type)?.get(String(req.params.id));
      const prom = wantsPrometheus(req.headers.accept, req.query?.format);
      if (!c && !prom && req.query?.quiet === '1') {
        // The edit dialog polls with quiet=1: a node not deployed yet is not an error there (no console noise).
        res.statusCode = 200;
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        return res.end(JSON.stringify({ running: false }));
      }
      if (!c) {
        res.statusCode = 404;
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        return res.end(JSON.stringify({ error: `no running ${type} node with this id (deploy it first)` }));
      }
      const snap = c.snapshot();
      res.statusCode = 200;
      res.setHeader('Cache-Control', 'no-store');
      if (prom) {
        res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
        return res.end(prometheusText([snap]));
      }
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(JSON.stringify(snap));
    },
  );
}

/**
 * Counters for one running node; registers the admin route on first use.
 * Call `release()` on close (a redeployed node with the same id replaces the entry first).
 */
export function receiverCounters(RED: RED, node: { id: string; type: string; name?: string; status(s: object): void }): ReceiverCounters & { release(): void } {
  registerCountersRoute(RED, node.type);
  const byType = registry().get(node.type) ?? new Map<string, ReceiverCounters>();
  registry().set(node.type, byType);
  const c = new ReceiverCounters(node.id, node.type, node.name || undefined) as ReceiverCounters & { release(): void };
  byType.set(node.id, c);
  // Health follows the node's own status badge: record each badge as it is set (no change to the adapter's logic).
  const setStatus = node.status.bind(node);
  node.status = (st: object) => {
    const o = st as { fill?: string; shape?: string; text?: string };
    c.lastStatus = o && (o.fill || o.text) ? { fill: o.fill, shape: o.shape, text: o.text } : null;
    setStatus(st);
  };
  c.release = () => {
    if (byType.get(node.id) === c) byType.delete(node.id);
  };
  return c;
}
