/**
 * Acts as ESS for the simulated tenant: every statusChanged the state
 * publishes is wrapped in an envelope and delivered (signed, with the ESS
 * retry policy) to each subscription whose topic, filter and company match.
 * Deliveries run in the background and are aborted on stop. Every event is
 * recorded in the event log, delivered or not.
 */
import { envelopeForChange, EXPENSE_TOPIC, type EssEnvelope } from './ess-events';
import { sendEss, type EssPadding, type EssSendResult } from './ess-sender';
import type { ClientTls } from './http-client';
import type { EssKeyPair } from './keys';
import type { Subscription } from './model';
import type { SimState, StatusChange } from './state';

export interface DeliveryOptions {
  padding?: EssPadding;
  retentionMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  tls?: ClientTls;
}

export interface EventLogEntry {
  id: string;
  eventType: string;
  reportId: string;
  currentApprovalStatus: unknown;
  stepCode: unknown;
  deliveries: Array<{ subscriptionId: string; endpoint: string; outcome: string; status?: number; attempts: number }>;
}

const EVENT_LOG_MAX = 500;

function matches(sub: Subscription, env: EssEnvelope, companyId: string): boolean {
  if (sub.topic !== env.topic) return false;
  if (!sub.companyIds.some((c) => c === companyId || c === '.*')) return false;
  try {
    return new RegExp(`^(?:${sub.filter})$`).test(env.eventType);
  } catch {
    return false;
  }
}

export class EventDelivery {
  private readonly controller = new AbortController();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly listener = (c: StatusChange) => this.onChange(c);

  constructor(
    private readonly state: SimState,
    private readonly apiBase: () => string,
    private readonly keys: () => EssKeyPair,
    private readonly log: EventLogEntry[],
    private readonly opts: DeliveryOptions = {},
    private readonly logLine?: (l: string) => void,
    /** false: only record events in the log, deliver nothing. */
    private readonly deliveryEnabled = true,
  ) {
    state.events.on('statusChanged', this.listener);
  }

  private onChange(change: StatusChange): void {
    const env = envelopeForChange(change, this.state.companyId, this.apiBase());
    const entry: EventLogEntry = {
      id: env.id,
      eventType: env.eventType,
      reportId: change.report.reportId,
      currentApprovalStatus: env.facts.currentApprovalStatus,
      stepCode: env.facts.stepCode,
      deliveries: [],
    };
    this.log.push(entry);
    if (this.log.length > EVENT_LOG_MAX) this.log.splice(0, this.log.length - EVENT_LOG_MAX);
    if (!this.deliveryEnabled || env.topic !== EXPENSE_TOPIC) return;
    for (const sub of this.state.subscriptions.values()) {
      if (!matches(sub, env, this.state.companyId)) continue;
      const p = this.deliver(sub, env, entry).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  private async deliver(sub: Subscription, env: EssEnvelope, entry: EventLogEntry): Promise<void> {
    let result: EssSendResult;
    try {
      result = await sendEss({
        to: sub.webHookConfig.endpoint,
        event: env,
        privateKey: this.keys().privateKey,
        padding: this.opts.padding,
        retentionMs: this.opts.retentionMs,
        initialDelayMs: this.opts.initialDelayMs,
        maxDelayMs: this.opts.maxDelayMs,
        timeoutMs: this.opts.timeoutMs,
        tls: this.opts.tls,
        signal: this.controller.signal,
        log: (l) => this.logLine?.(`[${sub.id}] ${l}`),
      });
    } catch (e) {
      entry.deliveries.push({ subscriptionId: sub.id, endpoint: sub.webHookConfig.endpoint, outcome: `error: ${(e as Error).message}`, attempts: 0 });
      return;
    }
    entry.deliveries.push({
      subscriptionId: sub.id,
      endpoint: sub.webHookConfig.endpoint,
      outcome: result.outcome,
      status: result.status,
      attempts: result.attempts.length,
    });
  }

  /** Resolves when every delivery in flight has finished (bounded by their retention). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  async stop(): Promise<void> {
    this.state.events.off('statusChanged', this.listener);
    this.controller.abort();
    await this.idle();
  }
}
