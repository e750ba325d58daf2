/**
 * Drift: what a production database holds on the chain's tables that the chain does not manage
 * (a DBA's views, materialized views, triggers, functions, rules, policies, indexes, columns,
 * keys from other tables, grants, comments, publications). A migration or rollback takes an
 * inventory of it first, in its own transaction, before any statement of the chain runs:
 *
 * - what cannot be carried over as it is (a function or trigger whose body names a table or
 *   column that the pending steps rename or drop; anything reading a table or column they drop)
 *   stops the run there, naming every such object at once with what to do;
 * - PostgreSQL carries the rest through renames by itself (views, rules, policies and trigger
 *   conditions refer to columns by number). Only a statement it refuses for them (a column whose
 *   type changes, a column or table dropped) sets them aside: each is read back with PostgreSQL's
 *   own definition as it stands at that moment (the renames so far applied), dropped, and created
 *   again right after that statement with its owner, grants, comments, options and, for a
 *   materialized view, its indexes and data. One that cannot be created again stops the run, with
 *   every other such object, at its end;
 * - the operator's triggers on the chain's tables do not fire for the chain's own data moves (the
 *   refresh-token and sessions moves of users): those are the restructuring, not changes of the
 *   data, and a `BEFORE UPDATE` that sets `updated_at` would otherwise alter rows the chain
 *   carries unchanged. They are enabled again as they were before the transaction commits.
 *
 * Nothing printed names a row's contents: only objects, their names and PostgreSQL's message
 * (never its DETAIL).
 */
import { sql } from 'drizzle-orm';
import { databaseErrorOf, driverErrorOf } from '../../db/driver-errors.js';
import { captureDependents, ENABLE, type SetAside } from './capture.js';
import { chainTables, ident, literal, queryIn, unmanagedTriggers, type Query, type Transaction } from './catalog.js';
import { DriftStop, findProblems, type Direction, type DriftProblem } from './problems.js';
import { carriedLines, type Recreated } from './report.js';

/** ALTER refused for a view or rule that reads the column (0A000), or DROP for a dependent object (2BP01). */
const refusedForDependents = (error: unknown) => driverErrorOf(error, (code) => code === '0A000' || code === '2BP01') !== undefined;
const driverMessage = (error: unknown) => databaseErrorOf(error)?.message ?? String(error);

/** What the operator reads: one line per object the run carried. */
export interface Carried {
  lines: string[];
}

/**
 * The drift of one run: `begin` before the first statement, each statement through `step`,
 * `finish` after the last, all in the run's transaction.
 */
export class DriftGuard {
  private disabled: { table: string; name: string; enabled: string }[] = [];
  private recreated = new Map<string, Recreated>();
  private failures: DriftProblem[] = [];
  private tag = '';
  private readonly q: Query;

  constructor(
    private readonly tx: Transaction,
    private readonly direction: Direction,
  ) {
    this.q = queryIn(tx);
  }

  /** Stops the run, naming everything it cannot carry; otherwise holds the operator's triggers for the chain's own statements. */
  async begin(tags: string[]): Promise<void> {
    const problems = await findProblems(this.q, this.direction, tags);
    if (problems.length) throw new DriftStop(this.direction, problems);
    for (const t of await unmanagedTriggers(this.q, await chainTables(this.q))) {
      if (t.enabled === 'D') continue;
      await this.q(`ALTER TABLE ${t.table} DISABLE TRIGGER ${ident(t.name)}`);
      this.disabled.push({ table: t.table_oid, name: t.name, enabled: t.enabled });
    }
  }

  /** The step of the chain the next statements belong to (for the report). */
  at(tag: string) {
    this.tag = tag;
  }

  /**
   * Runs one statement of the chain, in a savepoint. When PostgreSQL refuses it for objects that
   * read the columns it changes, those objects are set aside, the statement runs again, and they
   * are created again at once from their definitions as they stood.
   */
  async step<T>(statement: string, run: (tx: Transaction) => PromiseLike<T>): Promise<T> {
    const attempt = () => this.tx.transaction(async (inner) => run(inner));
    try {
      return await attempt();
    } catch (error) {
      // 0A000: "cannot alter type of a column used by a view or rule" (or a trigger, a policy);
      // 2BP01: "cannot drop … because other objects depend on it"
      if (!refusedForDependents(error)) throw error;
      const tables = await chainTables(this.q);
      const named = tables.filter((t) => statement.includes(`"${t.name}"`) || new RegExp(`(?<![\\w"])${t.name}(?![\\w"])`).test(statement));
      let aside = await this.setAside(named.length ? named : tables);
      let result: T;
      try {
        result = await attempt();
      } catch (again) {
        if (!named.length || !refusedForDependents(again)) throw again;
        aside = [...aside, ...(await this.setAside(tables))];
        result = await attempt();
      }
      await this.createAgain(aside);
      return result;
    }
  }

  private async setAside(tables: { oid: string }[]): Promise<SetAside[]> {
    const captured = await captureDependents(this.q, tables);
    for (const object of captured) await this.q(object.drop);
    return captured;
  }

  private async createAgain(aside: SetAside[]): Promise<void> {
    for (const object of [...aside].reverse()) {
      try {
        await this.tx.transaction(async (inner) => {
          for (const statement of object.create) await inner.execute(sql.raw(statement));
        });
      } catch (error) {
        const again = this.direction === 'up' ? 'migrating' : 'rolling back';
        this.failures.push({
          kind: object.kind,
          name: object.name,
          why: `it cannot be created again after ${this.tag} changed what it reads: ${driverMessage(error)}`,
          todo: `Drop it before ${again} (${object.drop};) and create it again on ${this.direction === 'up' ? 'the new' : 'the legacy'} schema afterwards.`,
        });
        continue;
      }
      const rows = object.count ? Number((await this.q<{ n: number }>(object.count))[0]?.n ?? 0) : undefined;
      const earlier = this.recreated.get(object.name);
      this.recreated.set(object.name, {
        kind: object.kind,
        after: earlier && earlier.after !== this.tag ? `${earlier.after}, ${this.tag}` : this.tag,
        with: object.with,
        ...(rows !== undefined ? { rows } : {}),
      });
    }
  }

  /** The operator's triggers as they were; stops the run when something could not be created again; what was carried. */
  async finish(): Promise<Carried> {
    for (const t of this.disabled) {
      const [found] = await this.q<{ table: string }>(`
        select tgrelid::regclass::text as "table" from pg_trigger where tgrelid = ${t.table} and tgname = ${literal(t.name)}`);
      if (found) await this.q(`ALTER TABLE ${found.table} ${ENABLE[t.enabled]} TRIGGER ${ident(t.name)}`);
    }
    if (this.failures.length) throw new DriftStop(this.direction, this.failures);
    return { lines: await carriedLines(this.q, this.direction, this.recreated) };
  }
}
