/**
 * The type mapping: each MySQL column type, the PostgreSQL type it becomes, and how one value of it
 * travels (MySQL's value as mysql2 hands it → PostgreSQL's COPY text) and is compared (the same
 * canonical text computed from either side, for the verifier's checksums).
 */

/** How a value is carried and compared. */
export type Kind =
  'integer' | 'boolean' | 'decimal' | 'double' | 'real' | 'text' | 'json' | 'datetime' | 'timestamptz' | 'date' | 'time' | 'bytes';

export interface MysqlColumn {
  name: string;
  /** information_schema.columns.DATA_TYPE, lower case (`int`, `varchar`, `json`, …). */
  dataType: string;
  /** information_schema.columns.COLUMN_TYPE (`tinyint(1)`, `decimal(10,2)`, `int(10) unsigned`, …). */
  columnType: string;
  nullable: boolean;
  charset: string | null;
  autoIncrement: boolean;
  /** MariaDB stores JSON as LONGTEXT with a json_valid() check: such a column is JSON too. */
  jsonChecked: boolean;
  precision: number | null;
  scale: number | null;
  length: number | null;
}

export interface Mapping {
  kind: Kind;
  /** The PostgreSQL type of a table the chain does not know (the chain's own tables have theirs). */
  pgType: string;
}

const unsigned = (c: MysqlColumn) => c.columnType.includes('unsigned');
const fraction = (c: MysqlColumn) => /\((\d)\)/.exec(c.columnType)?.[1] ?? '0';

/** MySQL DATA_TYPE → PostgreSQL: the one table of the mapping. A type missing here is not carried (named, not guessed). */
const MAPPING: Record<string, (c: MysqlColumn) => Mapping> = {
  tinyint: (c) => (/^tinyint\(1\)/.test(c.columnType) ? { kind: 'boolean', pgType: 'boolean' } : { kind: 'integer', pgType: 'smallint' }),
  bool: () => ({ kind: 'boolean', pgType: 'boolean' }),
  boolean: () => ({ kind: 'boolean', pgType: 'boolean' }),
  smallint: (c) => ({ kind: 'integer', pgType: unsigned(c) ? 'integer' : 'smallint' }),
  mediumint: () => ({ kind: 'integer', pgType: 'integer' }),
  int: (c) => ({ kind: 'integer', pgType: unsigned(c) ? 'bigint' : 'integer' }),
  integer: (c) => ({ kind: 'integer', pgType: unsigned(c) ? 'bigint' : 'integer' }),
  bigint: (c) => ({ kind: 'integer', pgType: unsigned(c) ? 'numeric(20)' : 'bigint' }),
  year: () => ({ kind: 'integer', pgType: 'smallint' }),
  decimal: (c) => ({ kind: 'decimal', pgType: `numeric(${c.precision}, ${c.scale})` }),
  double: () => ({ kind: 'double', pgType: 'double precision' }),
  float: () => ({ kind: 'real', pgType: 'real' }),
  char: (c) => ({ kind: 'text', pgType: `varchar(${c.length})` }),
  varchar: (c) => ({ kind: 'text', pgType: `varchar(${c.length})` }),
  tinytext: () => ({ kind: 'text', pgType: 'text' }),
  text: (c) => ({ kind: c.jsonChecked ? 'json' : 'text', pgType: c.jsonChecked ? 'jsonb' : 'text' }),
  mediumtext: (c) => ({ kind: c.jsonChecked ? 'json' : 'text', pgType: c.jsonChecked ? 'jsonb' : 'text' }),
  longtext: (c) => ({ kind: c.jsonChecked ? 'json' : 'text', pgType: c.jsonChecked ? 'jsonb' : 'text' }),
  enum: () => ({ kind: 'text', pgType: 'text' }),
  set: () => ({ kind: 'text', pgType: 'text' }),
  json: () => ({ kind: 'json', pgType: 'jsonb' }),
  date: () => ({ kind: 'date', pgType: 'date' }),
  datetime: (c) => ({ kind: 'datetime', pgType: `timestamp(${fraction(c)})` }),
  // TIMESTAMP is an instant (MySQL converts it from the session's zone): read in UTC, kept as one
  timestamp: (c) => ({ kind: 'timestamptz', pgType: `timestamptz(${fraction(c)})` }),
  time: () => ({ kind: 'time', pgType: 'interval' }),
  binary: () => ({ kind: 'bytes', pgType: 'bytea' }),
  varbinary: () => ({ kind: 'bytes', pgType: 'bytea' }),
  tinyblob: () => ({ kind: 'bytes', pgType: 'bytea' }),
  blob: () => ({ kind: 'bytes', pgType: 'bytea' }),
  mediumblob: () => ({ kind: 'bytes', pgType: 'bytea' }),
  longblob: () => ({ kind: 'bytes', pgType: 'bytea' }),
};

/** The mapping of a column, or undefined for a type this import does not carry (BIT, spatial types …). */
export function mapColumn(column: MysqlColumn): Mapping | undefined {
  return MAPPING[column.dataType]?.(column);
}

/** A value as mysql2 hands it (dateStrings, bigNumberStrings, jsonStrings): string, number or Buffer. */
export type SourceValue = string | number | Buffer | null;

/** PostgreSQL COPY text format: the escapes COPY reads back as the same characters. */
const escapeCopy = (text: string) =>
  text.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));

/** A double as its shortest round-trip text, -0 included: PostgreSQL reads back the same 64 bits. */
const doubleText = (n: number) => (Object.is(n, -0) ? '-0' : String(n));

/** One field of a COPY line. */
export function copyField(kind: Kind, value: SourceValue): string {
  if (value === null) return '\\N';
  switch (kind) {
    case 'boolean':
      return Number(value) === 0 ? 'f' : 't';
    case 'double':
    case 'real':
      return doubleText(Number(value));
    case 'bytes':
      return `\\\\x${(value as Buffer).toString('hex')}`;
    case 'timestamptz':
      return `${String(value)}+00`;
    default:
      return typeof value === 'string' ? escapeCopy(value) : String(value);
  }
}

const trimFraction = (text: string) => (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text);

/** The canonical order of an object's keys: shorter first, then by code unit (jsonb's own order for ASCII keys). */
const keyOrder = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/** Whether every object in a JSON value already has its keys in the canonical order (jsonb's text has, for ASCII keys). */
function inKeyOrder(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(inKeyOrder);
  let previous: string | undefined;
  for (const key in value as Record<string, unknown>) {
    if (previous !== undefined && keyOrder(previous, key) >= 0) return false;
    if (!inKeyOrder((value as Record<string, unknown>)[key])) return false;
    previous = key;
  }
  return true;
}

/** A JSON value with its object keys in the canonical order: equal for equal data whatever the key order or spacing. */
function stableJson(value: unknown): string {
  if (inKeyOrder(value)) return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort(keyOrder);
  let text = '{';
  for (let i = 0; i < keys.length; i++) text += `${i ? ',' : ''}${JSON.stringify(keys[i])}:${stableJson(object[keys[i]!])}`;
  return `${text}}`;
}

function bitsOf(n: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, n);
  return view.getBigUint64(0).toString(16);
}

/** The canonical text of a value read from MySQL (mysql2's value). */
export function sourceCanonical(kind: Kind, value: SourceValue): string | null {
  if (value === null) return null;
  switch (kind) {
    case 'boolean':
      return Number(value) === 0 ? 'f' : 't';
    case 'double':
      return bitsOf(Number(value));
    case 'real':
      return bitsOf(Math.fround(Number(value)));
    case 'bytes':
      return (value as Buffer).toString('hex');
    default:
      return canonicalText(kind, String(value));
  }
}

/** The canonical text of a value read back from PostgreSQL as `column::text`. */
export function targetCanonical(kind: Kind, text: string | null): string | null {
  if (text === null) return null;
  switch (kind) {
    case 'boolean':
      return text === 'true' ? 't' : 'f';
    case 'double':
      return bitsOf(Number(text));
    case 'real':
      return bitsOf(Math.fround(Number(text)));
    case 'bytes':
      return text.replace(/^\\x/, '');
    case 'timestamptz':
      return canonicalText(kind, text.replace(/\+00$/, ''));
    default:
      return canonicalText(kind, text);
  }
}

function canonicalText(kind: Kind, text: string): string {
  switch (kind) {
    case 'decimal': {
      const trimmed = trimFraction(text);
      return trimmed === '-0' ? '0' : trimmed;
    }
    case 'datetime':
    case 'timestamptz':
    case 'time':
      return trimFraction(text);
    case 'json':
      return stableJson(JSON.parse(text));
    default:
      return text;
  }
}
