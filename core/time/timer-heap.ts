/** A binary min-heap of timers by time: the in-memory index of the timers kept in state. */
export interface Timer {
  time: number;
  key: unknown;
  keyGroup: number;
  /** What the timer is for inside the key (a window), or null for a user timer. */
  namespace: unknown;
}

export class TimerHeap {
  private readonly a: Timer[] = [];

  get size(): number {
    return this.a.length;
  }

  /** The earliest time, or Infinity when empty. */
  peekTime(): number {
    return this.a.length > 0 ? this.a[0].time : Infinity;
  }

  push(t: Timer): void {
    const a = this.a;
    let i = a.length;
    a.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].time <= t.time) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = t;
  }

  pop(): Timer | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && a[l + 1].time < a[l].time ? l + 1 : l;
        if (a[c].time >= last.time) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }

  clear(): void {
    this.a.length = 0;
  }
}
