/**
 * Many concurrent callers, few statements: requests that arrive while earlier
 * statements are running are gathered and run as one statement (one round trip,
 * one commit), at most `maxInFlight` statements at a time. Like the journal's
 * group commit (./journal-file.ts): under load a commit covers many events,
 * and an idle store still answers at once.
 *
 * If a gathered statement fails, each item is run on its own, so one bad item
 * (a value the database refuses) cannot fail the others.
 */
export class StatementBatcher<I, R> {
  private queue: { item: I; resolve(r: R): void; reject(e: unknown): void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    /** Runs a group; returns one result per item, in order. */
    private readonly runMany: (items: I[]) => Promise<R[]>,
    private readonly o: { maxBatch: number; maxInFlight: number },
  ) {}

  run(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.o.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // One turn of the event loop gathers what arrived together.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.o.maxInFlight && this.queue.length > 0) {
      const group = this.queue.splice(0, this.o.maxBatch);
      this.inFlight++;
      this.runGroup(group).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async runGroup(group: { item: I; resolve(r: R): void; reject(e: unknown): void }[]): Promise<void> {
    try {
      const results = await this.runMany(group.map((g) => g.item));
      group.forEach((g, i) => g.resolve(results[i]));
      return;
    } catch (err) {
      if (group.length === 1) {
        group[0].reject(err);
        return;
      }
    }
    // The group failed: each item alone, so only a failing one fails.
    await Promise.all(
      group.map((g) =>
        this.runMany([g.item]).then(
          (r) => g.resolve(r[0]),
          (e) => g.reject(e),
        ),
      ),
    );
  }
}
