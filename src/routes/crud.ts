/**
 * The five CRUD routes every resource shares, built from a description of the resource: list
 * (keyset-paginated: page 10,000 costs what page 1 costs), read, create (201 + Location), partial
 * update and delete. Reads carry an ETag; a write with an If-Match that no longer matches gets
 * 412 and changes nothing, because the row is locked while the tag is compared.
 */
import { hash } from 'node:crypto';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { eq, getTableColumns, getTableName, sql, type InferInsertModel, type InferSelectModel, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static, type TInteger, type TObject, type TSchema, type TString } from 'typebox';
import type { Resource } from '../auth/permissions.js';
import type { Db, Tx } from '../db/client.js';
import { listPage, publicColumns, type ListQuery, type PageArgs } from '../db/pages.js';
import { assertKeepsRules } from '../db/rules.js';
import { StatementsByShape } from '../db/statements.js';
import { HttpError, notFound } from '../errors.js';
import { errorResponses, IfMatchHeaders, ListOf, optional, Page, Strict } from '../schemas.js';

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
    /** How a page is read, when not by listPage itself (e.g. a search that picks its plan). */
    page?: (db: Db, ...args: [...PageArgs, filters: ListQuery<F, S>]) => ReturnType<typeof listPage>;
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
  afterUpdate?: (
    before: Selected<TTable, TItem>,
    after: Selected<TTable, TItem>,
    context: HookContext & { body: Static<TUpdate> },
  ) => Promise<void>;
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

/** A strong tag of a JSON text. */
const tagOf = (json: string) => `"${hash('sha256', json, 'base64url').slice(0, 27)}"`;

/** A strong tag of the row as clients see it (JSON: dates as ISO strings, money as decimal strings). */
export const etagOf = (row: object) => tagOf(JSON.stringify(row));

const serializerOf = (schema: TObject) =>
  SerializerSelector()({}, {})({ schema, method: 'GET', url: '', httpStatus: '200' }) as (value: object) => string;

/**
 * The rows of a resource as its answers write them (its item schema's serialiser, which writes what
 * JSON.stringify writes of them), and their tags: a read serialises its row once, for its body and its tag.
 * `more`: fields an answer may give after the row's own (not part of its tag).
 */
export function itemJson(item: TObject, more?: TObject) {
  const serialize = serializerOf(item);
  const serializeMore = more && serializerOf(more);
  return {
    tag: (row: object) => tagOf(serialize(row)),
    /** The row as the body, with its ETag; then `extra`, the fields of `more`, in the same object. */
    send(reply: FastifyReply, row: object, extra?: object) {
      const own = serialize(row);
      void reply.header('etag', tagOf(own)).type('application/json; charset=utf-8');
      if (!extra || !serializeMore) return own;
      const after = serializeMore(extra);
      // two JSON objects as serialisers write them, "{…}", made one
      if (after === '{}') return own;
      return own === '{}' ? after : `${own.slice(0, -1)},${after.slice(1)}`;
    },
  };
}

/** If-Match: "*" or a list of tags, any of which may match; weak tags never match a write. */
export function assertIfMatch(request: FastifyRequest, row: object, current = etagOf(row)) {
  const header = request.headers['if-match'];
  if (!header) return;
  const tags = header.split(',').map((t) => t.trim());
  if (!tags.includes('*') && !tags.includes(current)) {
    throw new HttpError(412, 'PRECONDITION_FAILED', 'The row has changed since it was read (If-Match does not match its ETag)');
  }
}

export function withEtag<T extends object>(reply: FastifyReply, row: T, tag = etagOf(row)) {
  reply.header('etag', tag);
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
  const json = itemJson(item);
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
  const keepsRules = (before: Row, values: Row) =>
    assertKeepsRules(tableName, before, values, {
      status: 400,
      code: 'ROW_BREAKS_RULES',
      message: (described) =>
        `This ${noun.toLowerCase()} holds values that break rules of the schema (data from before them); send corrected values for them with this change: ${described}`,
    });
  const selectWhere = (db: Db | Tx, condition: SQL) => db.select(columns).from(table).where(condition);
  const selectById = (db: Db | Tx, id: unknown) => selectWhere(db, byId(id));
  // reads are built once: building the SQL text was a third of their CPU per request (bench/RESULTS.md)
  const reads = new StatementsByShape<PgColumn>(`${resource}_read_by`, (db, column) =>
    selectWhere(db, eq(column, sql.placeholder('value'))).getSQL(),
  );
  const readRoute = (path: string, params: TObject, summary: string, column: PgColumn, param: string) => {
    app.get<{ Params: Row }>(
      path,
      { schema: { tags: [tag], summary, params, response: responses({ 200: item }) }, config: access('read', 'read') },
      async (request, reply) => {
        const [row] = await reads.run<Row>(app.db, param, column, { value: request.params[param] }, columns);
        if (!row) throw notFound(noun);
        return json.send(reply, row);
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
      sort: Type.Optional(
        Type.Union(
          sortNames.map((s) => Type.Literal(s)),
          { default: list.defaultSort },
        ),
      ),
      ...optional(list.filters),
    });
    app.get(
      prefix,
      {
        schema: { tags: [tag], summary: `List ${tag}`, querystring: ListQuery, response: responses({ 200: ListOf(item) }) },
        config: access('read', 'list'),
      },
      async (request) => {
        const query = validated<Omit<ListQuery<F, S>, 'sort'> & { sort?: keyof S & string } & Parameters<typeof listPage>[2]>(
          request.query,
        );
        const sort = query.sort ?? list.defaultSort;
        const filters = { ...query, sort };
        return (list.page ?? listPage)(
          app.db,
          { table, idColumn, columns, sort, sortColumn: list.sorts[sort]! },
          query,
          list.where(filters),
          filters,
        );
      },
    );
  }

  if (operations.has('read')) readRoute(`${prefix}/:id`, idParams, `Read one ${noun.toLowerCase()}`, idColumn, 'id');

  if (operations.has('create')) {
    app.post(
      prefix,
      {
        schema: { tags: [tag], summary: `Create ${noun.toLowerCase()}`, body: options.createBody, response: responses({ 201: item }) },
        config: access('create', 'create'),
      },
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
        return json.send(reply, row);
      },
    );
  }

  if (operations.has('update')) {
    app.patch<{ Params: Static<IdParams> }>(
      `${prefix}/:id`,
      {
        schema: {
          tags: [tag],
          summary: `Change ${noun.toLowerCase()}`,
          params: idParams,
          headers: IfMatchHeaders,
          body: options.updateBody,
          response: responses({ 200: item }),
        },
        config: access('update', 'update'),
      },
      async (request, reply) => {
        const { id } = request.params;
        const row = await app.db.transaction(async (tx) => {
          const [before] = asItems(await selectById(tx, id).for('update'));
          if (!before) throw notFound(noun);
          assertIfMatch(request, before, json.tag(before));
          const body = validated<Static<TUpdate>>(request.body);
          // before the hook too: it may write to the row itself (ending a user's sessions)
          keepsRules(before, body);
          const values = toColumnValues(table, options.toUpdate ? await options.toUpdate(body, before, { tx, request }) : body);
          // e.g. a users PATCH with currentPassword alone: nothing for the database to do
          if (Object.keys(values).length === 0) throw new HttpError(400, 'NOTHING_TO_CHANGE', 'The body changes no field');
          keepsRules(before, values);
          const [after] = asItems(await tx.update(table).set(values).where(byId(id)).returning(columns));
          await options.afterUpdate?.(before, after!, { tx, request, body });
          return after!;
        });
        options.committed?.(id);
        return json.send(reply, row);
      },
    );
  }

  if (operations.has('delete')) {
    app.delete<{ Params: Static<IdParams> }>(
      `${prefix}/:id`,
      {
        schema: {
          tags: [tag],
          summary: `Delete ${noun.toLowerCase()}`,
          params: idParams,
          headers: IfMatchHeaders,
          response: responses({ 204: Type.Null() }),
        },
        config: access('delete', 'delete'),
      },
      async (request, reply: FastifyReply) => {
        const { id } = request.params;
        await app.db.transaction(async (tx) => {
          const [before] = await selectById(tx, id).for('update');
          if (!before) throw notFound(noun);
          assertIfMatch(request, before, json.tag(before));
          await tx.delete(table).where(byId(id));
        });
        options.committed?.(id);
        return reply.code(204).send();
      },
    );
  }
}
