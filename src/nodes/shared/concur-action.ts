/**
 * Shared plumbing for the Concur API action nodes: find the connection,
 * run one async operation per message with a guarded promise, keep the status
 * badge honest, and turn failures into Catch-node errors carrying
 * `msg.concurError = { status, code, message, correlationId }`.
 */
import type { RED, Node, NodeMessage, SendFn, DoneFn } from './red-types';
import { ConcurError, toConcurError } from '../../concur/concur-error';
import { cleanCorrelationId, type ConcurApi } from '../../concur/api-types';
import { isObject } from '../../concur/objects';
import { clipStatus } from './status';

/** What a deployed concur-config node offers to other nodes. */
export interface ConcurConfigNode {
  api: ConcurApi;
  /** Human description of where calls go (no secrets). */
  label(): string;
  /**
   * What keeps this connection from working before any call is made: the
   * credentials its grant needs that are missing, or a setting it could not
   * start with. Empty when it can be tried.
   */
  problems?(): string[];
}

export function findConnection(RED: RED, id: unknown): ConcurConfigNode | undefined {
  if (typeof id !== 'string' || !id) return undefined;
  const n = RED.nodes.getNode(id) as Partial<ConcurConfigNode> | null;
  return n && n.api && typeof n.api.request === 'function' ? (n as ConcurConfigNode) : undefined;
}

/** Correlation id to pass on: explicit msg.correlationId, else the triggering ESS event's. */
export function correlationIdOf(msg: NodeMessage): string | undefined {
  const c = msg.concur as Record<string, any> | undefined;
  const p = msg.payload as Record<string, any> | undefined;
  return (
    cleanCorrelationId(msg.correlationId) ??
    cleanCorrelationId(c?.correlationId) ??
    cleanCorrelationId(c?.event?.correlationId) ??
    cleanCorrelationId(p && typeof p === 'object' ? p.correlationId : undefined)
  );
}

/** What earlier nodes put in msg.concur; each API node adds its own key beside it. */
export function priorConcur(msg: NodeMessage): Record<string, any> {
  return isObject(msg.concur) ? msg.concur : {};
}

/**
 * msg.parts of item `index` of `count` that a node emits one message per item for
 * (same _msgid as the input, like the core split node, so flow-completion tracking
 * covers every item); an incoming msg.parts is kept inside, as the split node nests it.
 */
export function splitParts(msg: NodeMessage, index: number, count: number): Record<string, unknown> {
  return { id: String(msg._msgid ?? ''), index, count, type: 'array', ...(msg.parts ? { parts: msg.parts } : {}) };
}

const clip = clipStatus;

/**
 * Wires `input` to `run(msg)`: one call per message, errors reported once with
 * the message (so a Catch node sees it), status badge kept up to date.
 */
export function handleInputs(
  node: Node,
  getConnection: () => ConcurConfigNode | undefined,
  run: (api: ConcurApi, msg: NodeMessage, send: SendFn) => Promise<string>,
): void {
  let ok = 0;
  let failed = 0;
  let active = 0;
  let closed = false;
  let last = '';
  const paint = (err?: ConcurError) => {
    if (closed) return;
    if (active > 0) return node.status({ fill: 'blue', shape: 'dot', text: `calling Concur… (${active})` });
    if (err) return node.status({ fill: 'red', shape: 'ring', text: clip(`${err.status ? err.status + ' ' : ''}${err.code}: ${ok} ok, ${failed} failed`) });
    // Before the first call: say at deploy that the connection cannot work (a
    // green "0 ok" would only turn red on the first event).
    if (ok === 0 && failed === 0) {
      const conn = getConnection();
      if (!conn) return node.status({ fill: 'yellow', shape: 'ring', text: 'no connection selected' });
      if (conn.problems && conn.problems().length) return node.status({ fill: 'yellow', shape: 'ring', text: 'connection not configured' });
    }
    node.status({ fill: 'green', shape: 'dot', text: clip(`${last ? last + ' · ' : ''}${ok} ok${failed ? `, ${failed} failed` : ''}`) });
  };

  node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
    const conn = getConnection();
    const fail = (e: unknown) => {
      const ce = toConcurError(e);
      failed++;
      msg.concurError = ce.toInfo();
      paint(ce);
      done(ce);
    };
    if (!conn)
      return fail(
        new ConcurError({ status: 0, code: 'CONFIG', message: 'no Concur connection (concur-config) is selected or it failed to start', notSent: true }),
      );
    active++;
    paint();
    let p: Promise<string>;
    try {
      p = run(conn.api, msg, send);
    } catch (e) {
      active--;
      return fail(e);
    }
    p.then(
      (summary) => {
        active--;
        ok++;
        last = summary;
        delete msg.concurError;
        paint();
        done();
      },
      (e) => {
        active--;
        fail(e);
      },
    ).catch((e) => node.error(e)); // a throw inside the handlers must not escape
  });
  node.on('close', () => {
    closed = true;
    node.status({});
  });
  paint();
}
