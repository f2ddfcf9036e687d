/**
 * A connection opened on first use and shared by whoever asks: a sink's writer is asked to
 * re-commit restored transactions before it is opened, and a failed attempt to connect is
 * retried by the next use rather than remembered.
 */
export class LazyConnection<C> {
  private conn: Promise<C> | undefined;

  constructor(
    private readonly connect: () => Promise<C>,
    private readonly disconnect: (c: C) => Promise<void>,
  ) {}

  get(): Promise<C> {
    if (!this.conn) {
      const p = this.connect();
      this.conn = p;
      p.catch(() => {
        if (this.conn === p) this.conn = undefined;
      });
    }
    return this.conn;
  }

  async close(): Promise<void> {
    const p = this.conn;
    this.conn = undefined;
    if (!p) return;
    const c = await p.catch(() => undefined);
    if (c !== undefined) await this.disconnect(c);
  }
}
