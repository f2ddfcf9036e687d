/**
 * Operator uids derived from the statement: `sql-<target>-<kind>-<n>`, n counting nodes of
 * that kind in planning order, so the same statement gives the same uids and a savepoint
 * restores into it. Every node is also listed for EXPLAIN.
 */

/** One planned operator, as EXPLAIN prints it. */
export interface PlanNode {
  uid: string;
  kind: string;
  detail: string;
  depth: number;
}

/** Names operators of one statement and records them for EXPLAIN. */
export class UidNamer {
  private readonly counts = new Map<string, number>();
  readonly nodes: PlanNode[] = [];

  constructor(readonly prefix: string) {}

  /** The next uid of `kind`, recorded with a description. */
  next(kind: string, detail: string, depth = 0): string {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    const uid = `${this.prefix}-${kind}-${n}`;
    this.nodes.push({ uid, kind, detail, depth });
    return uid;
  }
}

/** The target part of a uid: lower-case letters, digits, '-' and '_'. */
export function uidPart(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]+/g, '_');
}
