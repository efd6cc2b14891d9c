/**
 * concur-legacy-notify-in: what the receiver counts and shows on its status
 * badge (pure; the adapter paints it through the shared ThrottledStatus).
 */
import type { Badge } from '../shared/status';

export type RejectStatus = 400 | 401 | 405 | 413 | 503;
/** Counter reason per refusal (shared/receiver-counters). */
export const REJECT_REASON: Record<RejectStatus, string> = { 400: 'bad-request', 401: 'auth', 405: 'method', 413: 'too-large', 503: 'unavailable' };

export class CalloutStats {
  received = 0;
  acked = 0;
  failed = 0;
  readonly rejected: Record<RejectStatus, number> = { 400: 0, 401: 0, 405: 0, 413: 0, 503: 0 };
  /** The last problem a request met ('' once a callout is accepted again). */
  lastProblem = '';
  /** Stops the receiver (red). */
  configProblem = '';
  /** Degrades it (yellow) until a request meets a problem of its own. */
  credentialWarning = '';

  constructor(private readonly ackMode: 'receipt' | 'complete') {}

  reject(status: RejectStatus, reason: string): void {
    this.rejected[status]++;
    this.lastProblem = `${status} ${reason}`;
  }

  text(path: string): string {
    const rej = this.rejected;
    const rejectedTotal = rej[400] + rej[401] + rej[405] + rej[413] + rej[503];
    const parts = [`${path}: ${this.received} received`];
    if (this.ackMode === 'complete' && this.failed) parts[0] += ` (${this.failed} failed)`;
    if (rejectedTotal) {
      const by = ([401, 400, 413, 503, 405] as RejectStatus[]).filter((s) => rej[s]).map((s) => `${s}×${rej[s]}`);
      parts.push(`${rejectedTotal} rejected [${by.join(' ')}]`);
    }
    if (this.lastProblem) parts.push(`last: ${this.lastProblem}`);
    else if (this.credentialWarning) parts.push(this.credentialWarning);
    return parts.join(' · ');
  }

  badge(path: string): Badge {
    if (this.configProblem) return { fill: 'red', shape: 'ring', text: this.configProblem };
    const degraded = Boolean(this.lastProblem || this.credentialWarning);
    return { fill: degraded ? 'yellow' : 'green', shape: degraded ? 'ring' : 'dot', text: this.text(path) };
  }
}
