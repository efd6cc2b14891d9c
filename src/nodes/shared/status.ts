/**
 * A node's status badge, throttled: a burst of requests must not flood the
 * editor with status events. Updates within `intervalMs` of the last paint are
 * folded into one trailing paint that shows the latest state. With `leading`
 * (the default) an update after a quiet interval paints at once; without it every
 * update waits `intervalMs` (so a badge set while the flows are still starting
 * reaches Status nodes created after this node). `render()` returns the badge to
 * show (or nothing to leave it).
 *
 * Badge convention: green dot = healthy, with counts; yellow ring = degraded or
 * a warning; red ring = an error that stops the node.
 */
export interface Badge {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export const STATUS_INTERVAL_MS = 250;

/** Longest badge text: the editor shows it under the node, where a long one covers the flow. */
export const MAX_STATUS_TEXT = 60;

/** A badge text cut to MAX_STATUS_TEXT characters (with an ellipsis). */
export function clipStatus(s: string): string {
  return s.length > MAX_STATUS_TEXT ? s.slice(0, MAX_STATUS_TEXT - 1) + '…' : s;
}

export class ThrottledStatus {
  private timer: NodeJS.Timeout | undefined;
  private lastPaintAt = 0;
  private closed = false;
  private readonly intervalMs: number;
  private readonly leading: boolean;

  constructor(
    private readonly node: { status(s: Badge): void },
    private readonly render: () => Badge | undefined,
    { intervalMs = STATUS_INTERVAL_MS, leading = true }: { intervalMs?: number; leading?: boolean } = {},
  ) {
    this.intervalMs = intervalMs;
    this.leading = leading;
  }

  /** Asks for a repaint (now, or once the interval since the last paint has passed). */
  update(): void {
    if (this.closed || this.timer) return;
    const wait = this.leading ? this.lastPaintAt + this.intervalMs - Date.now() : this.intervalMs;
    if (wait <= 0) this.paint();
    else {
      this.timer = setTimeout(() => this.paint(), wait);
      this.timer.unref?.();
    }
  }

  /** Paints at once (e.g. a configuration error at start). */
  paint(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastPaintAt = Date.now();
    if (this.closed) return;
    const badge = this.render();
    if (badge) this.node.status(badge);
  }

  /** Stops painting (node close); a pending paint is dropped. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
