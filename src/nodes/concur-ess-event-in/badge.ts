/**
 * concur-ess-event-in: what the status badge shows (pure; the adapter paints it
 * through the shared ThrottledStatus). Red: the node cannot take events
 * (configuration, store); yellow: it takes them but something needs a look;
 * green: healthy, with counts.
 */
import type { Badge } from '../shared/status';

export interface EssCounts {
  accepted: number;
  duplicate: number;
  filtered: number;
  rejected: number;
  failed: number;
  redelivered: number;
}

export interface EssBadgeState {
  closing: boolean;
  fatal?: string;
  storeRetry?: { error: string; retryInSec: number };
  storeHealth?: { ok: boolean; message?: string };
  verifySignature: boolean;
  lastIssue?: { text: string; fill: 'red' | 'yellow' };
  counts: EssCounts;
  pending: number;
  fullPath?: string;
}

export function essBadge(s: EssBadgeState): Badge | undefined {
  if (s.closing) return undefined;
  if (s.fatal) return { fill: 'red', shape: 'ring', text: s.fatal.slice(0, 60) };
  if (s.storeRetry) return { fill: 'red', shape: 'ring', text: `event store: ${s.storeRetry.error.slice(0, 40)} · retry in ${s.storeRetry.retryInSec} s` };
  if (s.storeHealth && !s.storeHealth.ok) return { fill: 'red', shape: 'ring', text: `store: ${s.storeHealth.message ?? 'unavailable'}`.slice(0, 60) };
  const c = s.counts;
  const parts = [`${c.accepted} ok`];
  if (c.duplicate) parts.push(`${c.duplicate} dup`);
  if (c.filtered) parts.push(`${c.filtered} filtered`);
  if (c.rejected) parts.push(`${c.rejected} rejected`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (s.pending) parts.push(`${s.pending} pending`);
  const text = parts.join(', ');
  if (!s.verifySignature) return { fill: 'yellow', shape: 'ring', text: `signature check OFF · ${text}` };
  if (s.lastIssue) return { fill: s.lastIssue.fill, shape: 'ring', text: `${s.lastIssue.text.slice(0, 40)} · ${text}` };
  return { fill: 'green', shape: 'dot', text: `${s.fullPath ?? ''} · ${text}` };
}
