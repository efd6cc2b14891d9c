/**
 * Throttled warnings for receivers: at most one warning per key (a rejection
 * reason) per interval; the next one that gets through says how many similar
 * ones were suppressed meanwhile. A flood of bad requests (300 bad-auth callouts)
 * then costs a handful of log lines instead of 300, while the node status keeps
 * the exact counts.
 */
export const WARN_THROTTLE_MS = 10_000;

export type ThrottledWarn = (key: string, text: string) => void;

export function throttledWarn(warn: (text: string) => void, intervalMs = WARN_THROTTLE_MS, now: () => number = Date.now): ThrottledWarn {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (key, text) => {
    const t = now();
    const w = seen.get(key);
    if (w && t - w.at < intervalMs) {
      w.suppressed++;
      return;
    }
    const extra = w && w.suppressed ? ` (${w.suppressed} similar suppressed)` : '';
    if (seen.size >= 100 && !w) seen.clear(); // keys are a small fixed set; never let them grow unbounded
    seen.set(key, { at: t, suppressed: 0 });
    warn(text + extra);
  };
}
