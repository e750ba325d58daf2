/** Shapes that several routes share, written once: ids, pages, errors, money, timestamps. */
import { Type, type Static, type TObject, type TOptional, type TSchema } from 'typebox';

/**
 * Request bodies and queries reject fields they do not declare. A body's example is what the API
 * docs fill in for "Try it out", so it must be something worth executing.
 */
export const Strict = <P extends Record<string, TSchema>>(
  properties: P,
  options: { minProperties?: number; examples?: Static<TObject<P>>[] } = {},
) => Type.Object(properties, { additionalProperties: false, ...options });

/**
 * One of these strings: a union of literals (the docs and error messages list them), typed as the
 * union of the strings (TypeBox types a union built from an array, not a tuple, as never).
 */
export const OneOf = <T extends string>(values: readonly T[], options: { description?: string; default?: T } = {}) =>
  Type.Unsafe<T>(
    Type.Union(
      values.map((v) => Type.Literal(v)),
      options,
    ),
  );

/** The same properties, each optional (a PATCH body). Cast: Object.fromEntries loses the keys' types. */
export const optional = <T extends Record<string, TSchema>>(properties: T) =>
  Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, Type.Optional(s)])) as { [K in keyof T]: TOptional<T[K]> };

/** An ILIKE pattern for "contains this text": %, _ and \ in the text match themselves. */
export const containing = (text: unknown) => `%${String(text).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Text of ASCII digits, spaces and punctuation (a TTN or phone ending, an order number): no character
 * lowers to any of these but itself, so LIKE finds what ILIKE finds, without lowering each text it
 * tests (a look-up of `0000` among a million orders: 20 ms against 70).
 */
export const caseless = (text: string) => /^[\x20-\x40\x5b-\x60\x7b-\x7e]+$/.test(text);
/** How a search text is compared: LIKE when it is caseless, ILIKE otherwise. */
export const comparisonOf = (text: string) => (caseless(text) ? 'like' : 'ilike');

/** E-mails are compared and stored trimmed and in lower case. */
export const normalizeEmail = (email: unknown) => String(email).trim().toLowerCase();

export const Timestamp = Type.String({ format: 'date-time' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Money travels as a decimal string: "1234.50", never a float. */
export const Money = Type.String({ pattern: '^\\d{1,10}(\\.\\d{1,2})?$', description: 'decimal string, e.g. "1234.50"' });

/** Free text that a person typed: bounded, so that a huge string is a 400, not a stored megabyte. */
export const Text = (maxLength = 1000) => Type.String({ maxLength });
export const Name = (maxLength = 200) => Type.String({ minLength: 1, maxLength });

export const SerialId = Type.Integer({ minimum: 1, maximum: 2147483647 });
export const SerialIdParams = Strict({ id: SerialId });
export const TextIdParams = Strict({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String(),
    error: Type.String(),
    message: Type.String(),
    fields: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), value: Type.Unknown(), rule: Type.String(), requires: Type.String() }), {
        description:
          'ROW_BREAKS_RULES: each field of the row that breaks a rule of the schema (legacy data), its current value and the rule',
      }),
    ),
  },
  { $id: 'ErrorResponse', title: 'Error' },
);

const errorRef = Type.Ref('ErrorResponse');
/** The errors any authenticated route may answer with. */
export const errorResponses = {
  400: errorRef,
  401: errorRef,
  403: errorRef,
  404: errorRef,
  409: errorRef,
  412: errorRef,
  429: errorRef,
  503: errorRef,
  504: errorRef,
};

/** A list's page when its query does not say: the validator leaves a default out, the handler applies it (and the docs show it). */
export const PAGE_DEFAULTS = { limit: 50, order: 'desc' } as const;

export const Page = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: PAGE_DEFAULTS.limit, description: 'page size (at most 100)' }),
  cursor: Type.String({ minLength: 1, maxLength: 500, description: 'nextCursor of the previous page' }),
  order: Type.Union([Type.Literal('desc'), Type.Literal('asc')], { default: PAGE_DEFAULTS.order }),
};

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: Nullable(Type.String({ description: 'pass as `cursor` for the next page; null on the last page' })),
  });

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({ maxLength: 200, description: 'an ETag from a read: the write happens only if the row is unchanged' }),
  ),
});

/** A barcode as scanners read it (EAN-13, Code 128 …): printable, no spaces. */
export const Barcode = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'what the packing station scans',
});
