/**
 * Admin routes of the ESS receiver's dead letters (the dialog's "Dead letters"
 * panel uses them too), all behind `concur-ess-event-in.write`: the list holds
 * full event bodies (company data), and replay/discard change the store.
 *
 *   GET  <admin>/concur-ess-event-in/<node id>/dead-letters                      the kept dead letters (404 when the node does not run,
 *                                                                                or 200 {"running": false} with ?quiet=1)
 *   POST <admin>/concur-ess-event-in/<node id>/dead-letters/<event id>/replay    emit it again (deliveryCount + 1, msg.concur.replayed)
 *   POST <admin>/concur-ess-event-in/<node id>/dead-letters/<event id>/discard   drop it (the id stays a duplicate)
 *   POST <admin>/concur-ess-event-in/<node id>/dead-letters/replay    body {"id": "<event id>"} (the same, any id)
 *   POST <admin>/concur-ess-event-in/<node id>/dead-letters/discard   body {"id": "<event id>"}
 *   POST <admin>/concur-ess-event-in/<node id>/dead-letters/replay-all
 *   POST <admin>/concur-ess-event-in/<node id>/dead-letters/discard-all
 *
 * In the path form callers encode the id (encodeURIComponent) and Express
 * decodes it; an id that is "." or ".." cannot be a path segment (URL parsers
 * collapse it, also as %2E%2E), so the dialog sends ids in the JSON body
 * (Node-RED's admin API parses JSON bodies). The
 * store moves a replayed event back to pending durably before it is emitted,
 * through the node's normal emit path (completion tracking, done or dead
 * letter again), so a crash meanwhile re-emits it on the next start.
 */
import type { RED as RedApi } from '../shared/red-types';
import { sendText, type RouteResponse } from '../shared/http-routes';
import { needsPermission } from '../shared/permissions';
import type { EventStore, StoredEvent } from '../../concur/event-store';

/** What a running receiver node offers these routes. */
export interface DeadLetterTarget {
  store(): EventStore | undefined;
  /** Emits a replayed event through the node's normal path, with msg.concur.replayed = true. */
  emitReplayed(ev: StoredEvent): void;
  /** How many more events may be pending for this node's flow now (maxPending minus pending). */
  room(): number;
  /** Dead letters changed: refresh the gauges and the status. */
  changed(): void;
}

type Req = { params: Record<string, string>; body?: unknown };

/** The event id from the path, or from a JSON body {"id": "..."}; undefined when neither has one. */
function eventId(req: Req): string | undefined {
  if (req.params.eventId !== undefined) return String(req.params.eventId);
  const b = req.body as { id?: unknown } | undefined;
  return b && typeof b === 'object' && typeof b.id === 'string' && b.id !== '' ? b.id : undefined;
}

/** Replays past this many per request are left for the next "replay all" (each is emitted at once). */
const REPLAY_ALL_MAX = 1000;

function json(res: RouteResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(text)));
  res.end(text);
}

export function registerDeadLetterRoutes(RED: RedApi, type: string, targets: Map<string, () => DeadLetterTarget | undefined>): void {
  const needsWrite = needsPermission(RED, `${type}.write`);
  const base = `/${type}/:id/dead-letters`;
  /** The running node and its open store, or an answer already sent. */
  const find = (req: Req, res: RouteResponse): { t: DeadLetterTarget; store: EventStore } | undefined => {
    const t = targets.get(String(req.params.id))?.();
    const store = t?.store();
    if (!t || !store) {
      sendText(res, 404, `no running ${type} node with this id`);
      return undefined;
    }
    return { t, store };
  };
  /** Runs one route's work; any failure (the store away, a throw) is a 503, never an escaped rejection. */
  const route = (work: (f: { t: DeadLetterTarget; store: EventStore }, req: Req, res: RouteResponse) => Promise<void>) => (req: Req, res: RouteResponse) => {
    const f = find(req, res);
    if (!f) return;
    work(f, req, res).catch((err: Error) => sendText(res, 503, `event store unavailable: ${err?.message ?? err}`, { 'Retry-After': '30' }));
  };
  const full = (res: RouteResponse) => sendText(res, 429, 'too many events are waiting for the flow; try again later', { 'Retry-After': '30' });
  const notDead = (res: RouteResponse, id: string) => sendText(res, 404, `${id} is not a dead letter (replayed or discarded already, or unknown)`);

  const list = route(async (f, _req, res) => {
    const list = await f.store.deadLetters();
    json(
      res,
      200,
      list.map((d) => ({
        id: d.id,
        reason: d.reason,
        failedAt: new Date(d.failedAt).toISOString(),
        receivedAt: new Date(d.receivedAt).toISOString(),
        deliveryCount: d.deliveryCount,
        meta: d.meta,
        body: d.body,
      })),
    );
  });
  RED.httpAdmin.get(base, needsWrite, (req: Req & { query?: Record<string, unknown> }, res: RouteResponse) => {
    // The dialog asks with quiet=1: a node not deployed yet is not an error there (no console noise), as for the counters.
    if (req.query?.quiet === '1' && !targets.get(String(req.params.id))?.()?.store()) return json(res, 200, { running: false });
    list(req, res);
  });

  RED.httpAdmin.post(
    `${base}/replay-all`,
    needsWrite,
    route(async (f, _req, res) => {
      const room = Math.min(REPLAY_ALL_MAX, f.t.room());
      if (room <= 0) return full(res);
      const events = await f.store.replayDeadLetters(room);
      for (const ev of events) f.t.emitReplayed(ev);
      f.t.changed();
      json(res, 200, { replayed: events.length, ids: events.map((e) => e.id) });
    }),
  );

  RED.httpAdmin.post(
    `${base}/discard-all`,
    needsWrite,
    route(async (f, _req, res) => {
      const n = await f.store.discardDeadLetters();
      f.t.changed();
      json(res, 200, { discarded: n });
    }),
  );

  const replayOne = route(async (f, req, res) => {
    const id = eventId(req);
    if (id === undefined) return sendText(res, 400, 'no event id: POST {"id": "<event id>"} as JSON');
    if (f.t.room() <= 0) return full(res);
    const ev = await f.store.replayDeadLetter(id);
    if (!ev) return notDead(res, id);
    f.t.emitReplayed(ev);
    f.t.changed();
    json(res, 200, { replayed: ev.id, deliveryCount: ev.deliveryCount });
  });
  const discardOne = route(async (f, req, res) => {
    const id = eventId(req);
    if (id === undefined) return sendText(res, 400, 'no event id: POST {"id": "<event id>"} as JSON');
    if (!(await f.store.discardDeadLetter(id))) return notDead(res, id);
    f.t.changed();
    json(res, 200, { discarded: id });
  });
  RED.httpAdmin.post(`${base}/replay`, needsWrite, replayOne);
  RED.httpAdmin.post(`${base}/discard`, needsWrite, discardOne);
  RED.httpAdmin.post(`${base}/:eventId/replay`, needsWrite, replayOne);
  RED.httpAdmin.post(`${base}/:eventId/discard`, needsWrite, discardOne);
}
