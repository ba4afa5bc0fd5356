/**
 * @module Fault injection for tests in the Workers pool: wrappers around the D1 and Durable Object
 * bindings that a test switches on and off. A gateway built with `createGateway(faultyEnv)` uses
 * them for everything the Worker itself does (the Durable Objects keep their own, real bindings).
 */

/** What an injected fault does to a call: wait, then fail or go through; or never answer. */
export type Fault = { kind: 'delay'; ms: number } | { kind: 'reject'; afterMs?: number; message: string } | { kind: 'hang' };

/** A switch for one binding: `set` a fault (for the calls `when` picks), `clear` it; `calls` counts what it caught. */
export class FaultSwitch {
  private fault: Fault | null = null;
  private when: (name: string) => boolean = () => true;
  private hung: (() => void)[] = [];
  /** Calls the fault applied to, by name (`prepare.first`, `consumeApproval`, ...). */
  readonly calls: string[] = [];

  set(fault: Fault, when: (name: string) => boolean = () => true): void {
    this.fault = fault;
    this.when = when;
  }

  /** Remove the fault; calls left hanging fail now (as a platform timeout would end them). */
  clear(): void {
    this.fault = null;
    for (const release of this.hung.splice(0)) release();
  }

  /** Runs before each wrapped call. */
  async before(name: string): Promise<void> {
    const f = this.fault;
    if (!f || !this.when(name)) return;
    this.calls.push(name);
    if (f.kind === 'delay') return void (await sleep(f.ms));
    if (f.kind === 'reject') {
      if (f.afterMs) await sleep(f.afterMs);
      throw new Error(f.message);
    }
    await new Promise<void>((_, reject) => this.hung.push(() => reject(new Error('injected hang released'))));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wrap D1: every statement's `first`/`all`/`run`/`raw`, and `batch`/`exec`, pass through `sw` first. */
export function faultyD1(db: D1Database, sw: FaultSwitch): D1Database {
  const real = new WeakMap<object, D1PreparedStatement>();
  const sqlOf = new WeakMap<object, string>();
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const w = {
      bind: (...values: unknown[]) => wrap(stmt.bind(...values), sql),
      first: async (col?: string) => {
        await sw.before(`first ${sql}`);
        return col === undefined ? stmt.first() : stmt.first(col);
      },
      all: async () => {
        await sw.before(`all ${sql}`);
        return stmt.all();
      },
      run: async () => {
        await sw.before(`run ${sql}`);
        return stmt.run();
      },
      raw: async (o?: { columnNames?: boolean }) => {
        await sw.before(`raw ${sql}`);
        return stmt.raw(o as never);
      },
    } as unknown as D1PreparedStatement;
    real.set(w, stmt);
    sqlOf.set(w, sql);
    return w;
  };
  return {
    prepare: (sql: string) => wrap(db.prepare(sql), sql),
    batch: async (stmts: D1PreparedStatement[]) => {
      // Named by its statements, so a fault can pick a batch by what it reads or writes.
      await sw.before(`batch ${stmts.map((s) => sqlOf.get(s) ?? '?').join('; ')}`);
      return db.batch(stmts.map((s) => real.get(s) ?? s));
    },
    exec: async (sql: string) => {
      await sw.before(`exec ${sql}`);
      return db.exec(sql);
    },
    dump: () => db.dump(),
    withSession: () => {
      throw new Error('not wrapped');
    },
  } as unknown as D1Database;
}

/**
 * Wrap a Durable Object namespace: every RPC method call on its stubs passes through `sw` first
 * (the name is the method's, e.g. `append` or `consumeApproval`).
 */
export function faultyNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  ns: DurableObjectNamespace<T>,
  sw: FaultSwitch,
): DurableObjectNamespace<T> {
  const wrapStub = (stub: DurableObjectStub<T>) =>
    new Proxy(stub, {
      get(target, prop) {
        if (prop === 'then') return undefined;
        const v = (target as unknown as Record<string | symbol, unknown>)[prop];
        if (typeof prop !== 'string' || typeof v !== 'function' || prop === 'fetch') return v;
        return async (...args: unknown[]) => {
          await sw.before(prop);
          return (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop]!(...args);
        };
      },
    });
  return {
    idFromName: (name: string) => ns.idFromName(name),
    idFromString: (id: string) => ns.idFromString(id),
    newUniqueId: (o?: DurableObjectNamespaceNewUniqueIdOptions) => ns.newUniqueId(o),
    get: (id: DurableObjectId, o?: DurableObjectNamespaceGetDurableObjectOptions) => wrapStub(ns.get(id, o)),
    getByName: (name: string, o?: DurableObjectNamespaceGetDurableObjectOptions) => wrapStub(ns.get(ns.idFromName(name), o)),
    jurisdiction: () => {
      throw new Error('not wrapped');
    },
  } as unknown as DurableObjectNamespace<T>;
}
