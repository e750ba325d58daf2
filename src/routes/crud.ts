/**
 * The five CRUD routes every resource shares, built from a description of the resource: list
 * (keyset-paginated: page 10,000 costs what page 1 costs), read, create (201 + Location), partial
 * update and delete. Reads carry an ETag; a write with an If-Match that no longer matches gets
 * 412 and changes nothing, because the row is locked while the tag is compared.
 */
import { createHash } from 'node:crypto';
import {
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  getTableName,
  isNotNull,
  isNull,
  or,
  sql,
  type InferInsertModel,
  type InferSelectModel,
  type SQL,
} from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static, type TInteger, type TObject, type TSchema, type TString } from 'typebox';
import type { Resource } from '../auth/permissions.js';
import type { Db, Tx } from '../db/client.js';
import { brokenFields, describeBrokenFields } from '../db/rules.js';
import { HttpError, notFound } from '../plugins/errors.js';
import { errorResponses, IfMatchHeaders, ListOf, optional, Page, Strict } from './shared.js';

type Row = Record<string, unknown>;
type Operation = 'list' | 'read' | 'create' | 'update' | 'delete';

/** Column values as a hook gives them: a timestamp may also be an ISO string (toColumnValues makes it a Date). */
type Writable<T> = { [K in keyof T]: Date extends NonNullable<T[K]> ? T[K] | string : T[K] };
export type InsertValues<TTable extends PgTable> = Writable<InferInsertModel<TTable>>;
/** A row as the routes select it: the item's columns, typed as drizzle reads them. */
export type Selected<TTable extends PgTable, TItem extends TObject> = Pick<
  InferSelectModel<TTable>,
  keyof Static<TItem> & keyof InferSelectModel<TTable>
>;
/** A list's query as its `where` sees it: the declared filters, and the sort in effect. */
export type ListQuery<F extends Record<string, TSchema>, S extends Record<string, PgColumn>> = { [K in keyof F]?: Static<F[K]> } & {
  sort: keyof S & string;
};

/** The :id of a row: a serial (integer) or a text key. */
type IdParams = TObject<{ id: TInteger | TString }>;

/** What every hook gets: the transaction the operation runs in (read and write through it, never app.db), and the request. */
export interface HookContext {
  tx: Tx;
  request: FastifyRequest;
}

export interface CrudOptions<
  TTable extends PgTable,
  TItem extends TObject,
  TCreate extends TObject,
  TUpdate extends TObject,
  F extends Record<string, TSchema>,
  S extends Record<string, PgColumn>,
> {
  /** Route prefix under /api/v1, e.g. '/orders'. */
  prefix: string;
  resource: Resource;
  /** For messages: "Order not found". */
  noun: string;
  tag: string;
  table: TTable;
  idColumn: PgColumn;
  idParams: IdParams;
  /** The row as clients see it; only these columns are ever selected. */
  item: TItem;
  createBody: TCreate;
  updateBody: TUpdate;
  list: {
    /** Query filters: TypeBox properties, and how they become conditions. */
    filters: F;
    where: (query: ListQuery<F, S>) => (SQL | undefined)[];
    sorts: S;
    defaultSort: keyof S & string;
  };
  operations?: Operation[];
  /** Turns a create body into column values (e.g. hashes a password); runs in the insert's transaction. */
  toInsert?: (body: Static<TCreate>, context: HookContext) => Promise<InsertValues<TTable>> | InsertValues<TTable>;
  /** Turns an update body into column values; `before` is the current row, locked by the update's transaction. */
  toUpdate?: (
    body: Static<TUpdate>,
    before: Selected<TTable, TItem>,
    context: HookContext,
  ) => Promise<Partial<InsertValues<TTable>>> | Partial<InsertValues<TTable>>;
  /** Runs in the insert's transaction, after the insert (e.g. records an order's first status in its history). */
  afterCreate?: (after: Selected<TTable, TItem>, context: HookContext) => Promise<void>;
  /** Runs in the update's transaction, after the update (e.g. appends order history); `body` is the request's. */
  afterUpdate?: (before: Selected<TTable, TItem>, after: Selected<TTable, TItem>, context: HookContext & { body: Static<TUpdate> }) => Promise<void>;
  /**
   * Runs once an update or a delete of the row has committed (e.g. forgets what this process
   * caches of it: forgotten earlier, a concurrent request could cache the state the change replaces).
   */
  committed?: (id: Static<IdParams>['id']) => void;
  /** Who may call each operation, when it differs from the resource's own grant. */
  self?: Operation[];
  /** Reads by another unique column: GET {prefix}/{path}/:{param}, e.g. /products/by-sku/:sku. */
  readBy?: { path: string; param: string; schema: TSchema; column: PgColumn; summary: string }[];
}

/** A strong tag of the row as clients see it (JSON: dates as ISO strings, money as decimal strings). */
export const etagOf = (row: object) => `"${createHash('sha256').update(JSON.stringify(row)).digest('base64url').slice(0, 27)}"`;

/** If-Match: "*" or a list of tags, any of which may match; weak tags never match a write. */
export function assertIfMatch(request: FastifyRequest, row: object) {
  const header = request.headers['if-match'];
  if (!header) return;
  const current = etagOf(row);
  const tags = header.split(',').map((t) => t.trim());
  if (!tags.includes('*') && !tags.includes(current)) {
    throw new HttpError(412, 'PRECONDITION_FAILED', 'The row has changed since it was read (If-Match does not match its ETag)');
  }
}

interface Cursor {
  s: string;
  o: 'asc' | 'desc';
  v: unknown;
  id: unknown;
}

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url');

function decodeCursor(text: string, sort: string, order: 'asc' | 'desc'): Cursor {
  try {
    const cursor: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof cursor === 'object' && cursor && 's' in cursor && cursor.s === sort && 'o' in cursor && cursor.o === order && 'v' in cursor && 'id' in cursor && cursor.id != null) {
      return { s: sort, o: order, v: cursor.v, id: cursor.id };
    }
  } catch {
    // fall through
  }
  throw new HttpError(400, 'INVALID_CURSOR', 'cursor is not a nextCursor of this list with the same sort and order');
}

/** The value as the column's driver expects it; a malformed cursor value is a 400, not a 500. */
function cursorValue(column: PgColumn, value: unknown) {
  if (value === null) return null;
  if (column.dataType === 'date') {
    const date = typeof value === 'string' || typeof value === 'number' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new HttpError(400, 'INVALID_CURSOR', 'cursor is malformed');
    return date;
  }
  if (column.dataType === 'number' && typeof value !== 'number') throw new HttpError(400, 'INVALID_CURSOR', 'cursor is malformed');
  if (column.dataType === 'string' && typeof value !== 'string') throw new HttpError(400, 'INVALID_CURSOR', 'cursor is malformed');
  return value;
}

/**
 * Rows after the cursor in (sort column, id) order. Descending puts NULLs first and ascending
 * last, as a btree on (column, id) returns them, so the index serves every page.
 */
export function afterCursor(column: PgColumn, id: PgColumn, order: 'asc' | 'desc', cursor: Pick<Cursor, 'v' | 'id'>): SQL | undefined {
  const v = cursorValue(column, cursor.v);
  const cid = cursorValue(id, cursor.id);
  const past = order === 'desc' ? sql`<` : sql`>`;
  if (column === id) return sql`${id} ${past} ${sql.param(cid, id)}`;
  if (v === null) {
    const inNulls = and(isNull(column), sql`${id} ${past} ${sql.param(cid, id)}`);
    return order === 'desc' ? or(inNulls, isNotNull(column)) : inNulls;
  }
  const inValues = sql`(${column}, ${id}) ${past} (${sql.param(v, column)}, ${sql.param(cid, id)})`;
  // a NOT NULL column has no NULLs to come after: without the OR, the index range starts at the cursor
  return order === 'desc' || column.notNull ? inValues : or(inValues, isNull(column));
}

export function publicColumns(table: PgTable, item: TObject) {
  const columns = getTableColumns(table);
  return Object.fromEntries(Object.keys(item.properties).filter((k) => k in columns).map((k) => [k, columns[k]!]));
}

export interface KeysetPage {
  items: Row[];
  nextCursor: string | null;
}

export async function listPage(
  db: Db,
  options: { table: PgTable; idColumn: PgColumn; columns: Record<string, PgColumn>; sort: string; sortColumn: PgColumn },
  query: { limit?: number; cursor?: string; order?: 'asc' | 'desc' },
  conditions: (SQL | undefined)[],
): Promise<KeysetPage> {
  const { table, idColumn, columns, sort, sortColumn } = options;
  const limit = query.limit ?? 50;
  const order = query.order ?? 'desc';
  const cursor = query.cursor ? decodeCursor(query.cursor, sort, order) : undefined;
  const direction = order === 'desc' ? desc : asc;
  const rows = await db
    .select(columns)
    .from(table)
    .where(and(...conditions, cursor && afterCursor(sortColumn, idColumn, order, cursor)))
    .orderBy(...(sortColumn === idColumn ? [direction(idColumn)] : [direction(sortColumn), direction(idColumn)]))
    .limit(limit + 1);
  const items: Row[] = rows.slice(0, limit);
  const last = items.at(-1);
  const sortKey = Object.keys(columns).find((k) => columns[k] === sortColumn);
  const idKey = Object.keys(columns).find((k) => columns[k] === idColumn)!;
  const nextCursor =
    rows.length > limit && last
      ? encodeCursor({ s: sort, o: order, v: sortKey ? toJsonValue(last[sortKey]) : null, id: last[idKey] })
      : null;
  return { items, nextCursor };
}

const toJsonValue = (value: unknown) => (value instanceof Date ? value.toISOString() : value);

export function withEtag<T extends object>(reply: FastifyReply, row: T) {
  reply.header('etag', etagOf(row));
  return row;
}

/** Timestamps arrive as ISO strings; date-mode columns take Date objects. */
export function toColumnValues(table: PgTable, body: object): Row {
  const columns = getTableColumns(table);
  return Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, columns[k]?.dataType === 'date' && typeof v === 'string' ? new Date(v) : v]),
  );
}

/**
 * Cast: a request's body or query as its route's schema validated it. Fastify types a request from its
 * schemas, but not from schemas given as type parameters (its route types stay unresolved for
 * them, Static<TCreate> included): this is the one place that says what validation guarantees.
 */
const validated = <T>(value: unknown) => value as T;

export function registerCrud<
  TTable extends PgTable,
  TItem extends TObject,
  TCreate extends TObject,
  TUpdate extends TObject,
  F extends Record<string, TSchema>,
  S extends Record<string, PgColumn>,
>(app: FastifyInstance, options: CrudOptions<TTable, TItem, TCreate, TUpdate, F, S>) {
  type Item = Selected<TTable, TItem>;
  // cast: drizzle cannot type a select from a table given as a type parameter (its builders stay unresolved
  // for it): the SQL is built on PgTable, and its rows, the item's columns (publicColumns), typed here
  const asItems = (rows: Row[]) => rows as Item[];
  const { prefix, resource, noun, tag, idColumn, idParams, item, list } = options;
  const table: PgTable = options.table; // the SQL is the same for every table: built untyped, typed at the hooks
  const operations = new Set(options.operations ?? ['list', 'read', 'create', 'update', 'delete']);
  const columns = publicColumns(table, item);
  const access = (action: 'read' | 'create' | 'update' | 'delete', operation: Operation) => ({
    access: { resource, action, self: options.self?.includes(operation) },
  });
  const responses = (ok: Record<number, TSchema>) => ({ ...errorResponses, ...ok });
  const byId = (id: unknown) => eq(idColumn, id);
  const tableName = getTableName(table);
  /**
   * PostgreSQL checks every rule again on each update of a row, those kept NOT VALID for legacy rows
   * included: a change that would leave a legacy value breaking one is refused naming every such
   * field at once (its value, the rule), so that the client can correct them in the same request.
   */
  const assertKeepsRules = (before: Row, values: Row) => {
    const fields = brokenFields(tableName, { ...before, ...values });
    if (!fields.length) return;
    // a value this change sends, or a rule the row kept until now: this request's fault, told as a POST is
    const legacy = new Set(brokenFields(tableName, before).map((f) => f.rule));
    const byThisChange = fields.filter((f) => f.field in values || !legacy.has(f.rule));
    if (byThisChange.length) {
      throw new HttpError(400, 'CHECK_VIOLATION', `The values sent break a rule: ${describeBrokenFields(byThisChange)}`);
    }
    throw new HttpError(
      400,
      'ROW_BREAKS_RULES',
      `This ${noun.toLowerCase()} holds values that break rules of the schema (data from before them); send corrected values for them with this change: ${describeBrokenFields(fields)}`,
      {},
      fields,
    );
  };
  const selectById = (db: Db | Tx, id: unknown) => db.select(columns).from(table).where(byId(id));
  // reads are built once: building the SQL text was a third of their CPU per request (bench/RESULTS.md)
  const prepareReadBy = (column: PgColumn, name: string) =>
    app.db.select(columns).from(table).where(eq(column, sql.placeholder('value'))).prepare(`${resource}_read_by_${name}`);
  const readRoute = (path: string, params: TObject, summary: string, column: PgColumn, param: string) => {
    const read = prepareReadBy(column, param);
    app.get<{ Params: Row }>(
      path,
      { schema: { tags: [tag], summary, params, response: responses({ 200: item }) }, config: access('read', 'read') },
      async (request, reply) => {
        const [row] = await read.execute({ value: request.params[param] });
        if (!row) throw notFound(noun);
        return withEtag(reply, row);
      },
    );
  };
  for (const by of options.readBy ?? []) {
    readRoute(`${prefix}/${by.path}/:${by.param}`, Strict({ [by.param]: by.schema }), by.summary, by.column, by.param);
  }

  if (operations.has('list')) {
    const sortNames = Object.keys(list.sorts);
    const ListQuery = Strict({
      ...optional(Page),
      sort: Type.Optional(Type.Union(sortNames.map((s) => Type.Literal(s)), { default: list.defaultSort })),
      ...optional(list.filters),
    });
    app.get(
      prefix,
      { schema: { tags: [tag], summary: `List ${tag}`, querystring: ListQuery, response: responses({ 200: ListOf(item) }) }, config: access('read', 'list') },
      async (request) => {
        const query = validated<Omit<ListQuery<F, S>, 'sort'> & { sort?: keyof S & string } & Parameters<typeof listPage>[2]>(request.query);
        const sort = query.sort ?? list.defaultSort;
        return listPage(app.db, { table, idColumn, columns, sort, sortColumn: list.sorts[sort]! }, query, list.where({ ...query, sort }));
      },
    );
  }

  if (operations.has('read')) readRoute(`${prefix}/:id`, idParams, `Read one ${noun.toLowerCase()}`, idColumn, 'id');

  if (operations.has('create')) {
    app.post(
      prefix,
      { schema: { tags: [tag], summary: `Create ${noun.toLowerCase()}`, body: options.createBody, response: responses({ 201: item }) }, config: access('create', 'create') },
      async (request, reply: FastifyReply) => {
        const body = validated<Static<TCreate>>(request.body);
        const row = await app.db.transaction(async (tx) => {
          const values = options.toInsert ? await options.toInsert(body, { tx, request }) : body;
          const [inserted] = await tx.insert(table).values(toColumnValues(table, values)).returning(columns);
          if (!inserted) throw new Error(`INSERT into ${tableName} … RETURNING answered no row`); // it answers the row, or fails
          await options.afterCreate?.(asItems([inserted])[0]!, { tx, request });
          return inserted;
        });
        const id = row[Object.keys(columns).find((k) => columns[k] === idColumn)!];
        reply.code(201).header('location', `/api/v1${prefix}/${encodeURIComponent(String(id))}`);
        return withEtag(reply, row);
      },
    );
  }

  if (operations.has('update')) {
    app.patch<{ Params: Static<IdParams> }>(
      `${prefix}/:id`,
      {
        schema: { tags: [tag], summary: `Change ${noun.toLowerCase()}`, params: idParams, headers: IfMatchHeaders, body: options.updateBody, response: responses({ 200: item }) },
        config: access('update', 'update'),
      },
      async (request, reply) => {
        const { id } = request.params;
        const row = await app.db.transaction(async (tx) => {
          const [before] = asItems(await selectById(tx, id).for('update'));
          if (!before) throw notFound(noun);
          assertIfMatch(request, before);
          const body = validated<Static<TUpdate>>(request.body);
          // before the hook too: it may write to the row itself (ending a user's sessions)
          assertKeepsRules(before, body);
          const values = toColumnValues(table, options.toUpdate ? await options.toUpdate(body, before, { tx, request }) : body);
          // e.g. a users PATCH with currentPassword alone: nothing for the database to do
          if (Object.keys(values).length === 0) throw new HttpError(400, 'NOTHING_TO_CHANGE', 'The body changes no field');
          assertKeepsRules(before, values);
          const [after] = asItems(await tx.update(table).set(values).where(byId(id)).returning(columns));
          await options.afterUpdate?.(before, after!, { tx, request, body });
          return after!;
        });
        options.committed?.(id);
        return withEtag(reply, row);
      },
    );
  }

  if (operations.has('delete')) {
    app.delete<{ Params: Static<IdParams> }>(
      `${prefix}/:id`,
      {
        schema: { tags: [tag], summary: `Delete ${noun.toLowerCase()}`, params: idParams, headers: IfMatchHeaders, response: responses({ 204: Type.Null() }) },
        config: access('delete', 'delete'),
      },
      async (request, reply: FastifyReply) => {
        const { id } = request.params;
        await app.db.transaction(async (tx) => {
          const [before] = await selectById(tx, id).for('update');
          if (!before) throw notFound(noun);
          assertIfMatch(request, before);
          await tx.delete(table).where(byId(id));
        });
        options.committed?.(id);
        return reply.code(204).send();
      },
    );
  }
}
