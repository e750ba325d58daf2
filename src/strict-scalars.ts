/**
 * Path, query and header values arrive as text. TypeBox's `Value.Convert` turns far too much of it
 * into numbers and booleans (`0xa6` is 166, `1e1` is 10, ` 135` and `135.0` are 135, `true` is 1):
 * an id written any of those ways read, changed or deleted the row it happened to name. Here a
 * number is taken only as canonical decimal text and a boolean only as `true` or `false`; any
 * other text for them is a 400 naming the parameter, before the rest is converted. Text holding
 * U+0000 (NUL), which PostgreSQL cannot store, is a 400 naming it too.
 */
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';

type Kind = 'integer' | 'number' | 'boolean';

const CANONICAL: Record<Kind, RegExp> = {
  integer: /^(0|-?[1-9][0-9]*)$/,
  number: /^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/,
  boolean: /^(true|false)$/,
};

const RULE: Record<Kind, string> = {
  integer: 'must be a whole number in decimal digits (0, or 1-9 followed by digits), e.g. 135',
  number: 'must be a number in decimal digits, e.g. 12.5',
  boolean: 'must be true or false',
};

interface JsonSchema {
  type?: string;
  anyOf?: JsonSchema[];
  const?: unknown;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
}

/** The scalar kind a schema converts text to (through a union such as integer-or-null), if any. */
function kindOf(schema: JsonSchema | undefined): Kind | undefined {
  if (!schema) return undefined;
  if (schema.type === 'integer' || schema.type === 'number' || schema.type === 'boolean') return schema.type;
  // text is a value of a union that holds a string: not converted here
  if (!schema.anyOf || schema.anyOf.some((member) => member.type === 'string' && !('const' in member))) return undefined;
  return schema.anyOf.map(kindOf).find(Boolean);
}

const holdsNul = (value: unknown) =>
  typeof value === 'string' ? value.includes('\0') : Array.isArray(value) && value.some((v) => typeof v === 'string' && v.includes('\0'));

/**
 * Converts the object's number and boolean fields that are written canonically, in place of
 * `Value.Convert`'s loose reading; the errors name each field written otherwise. Other fields are
 * left for `Value.Convert`; a single value for an array becomes a list of one. What each field of
 * the schema takes is read once, here, not on every request.
 */
function scalarsConverter(schema: TSchema): (value: unknown) => { value: unknown; errors: FastifySchemaValidationError[] } {
  const { properties } = schema as JsonSchema;
  const fields = Object.entries(properties ?? {}).map(([name, field]) => ({
    name,
    kind: kindOf(field),
    itemKind: field.type === 'array' ? kindOf(field.items) : undefined,
    array: field.type === 'array',
  }));
  const convert = (text: unknown, kind: Kind, path: string, errors: FastifySchemaValidationError[]): unknown => {
    if (typeof text !== 'string') return text;
    const number = kind === 'boolean' ? undefined : Number(text);
    if (!CANONICAL[kind].test(text) || (kind === 'integer' && !Number.isSafeInteger(number))) {
      errors.push({ keyword: 'type', instancePath: path, schemaPath: '', params: { format: kind }, message: RULE[kind] });
      return text;
    }
    return kind === 'boolean' ? text === 'true' : number;
  };
  return (value) => {
    const errors: FastifySchemaValidationError[] = [];
    if (!properties || value === null || typeof value !== 'object') return { value, errors };
    const converted: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const name in converted) {
      if (!holdsNul(converted[name])) continue;
      errors.push({
        keyword: 'pattern',
        instancePath: `/${name}`,
        schemaPath: '',
        params: {},
        message: 'holds the character U+0000 (NUL), which text cannot hold',
      });
    }
    for (const { name, kind, itemKind, array } of fields) {
      if (!(name in converted)) continue;
      if (kind) converted[name] = convert(converted[name], kind, `/${name}`, errors);
      else if (itemKind) {
        const items = converted[name];
        converted[name] = Array.isArray(items)
          ? items.map((item, i) => convert(item, itemKind, `/${name}/${i}`, errors))
          : [convert(items, itemKind, `/${name}`, errors)];
      } else if (array && !Array.isArray(converted[name])) converted[name] = [converted[name]];
    }
    return { value: converted, errors };
  };
}

/**
 * @fastify/type-provider-typebox's validator compiler, with the strict reading of numbers and
 * booleans before `Value.Convert` (bodies are JSON and are not converted at all).
 */
export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  const convertScalars = scalarsConverter(schema);
  return (value) => {
    let converted: unknown = value;
    if (httpPart !== 'body') {
      const strict = convertScalars(value);
      if (strict.errors.length) return { error: strict.errors };
      // Value.Convert walks the schema on every call (a third of a small request's CPU): only when the values need more
      if (check.Check(strict.value)) return { value: strict.value };
      converted = Value.Convert(schema, strict.value);
    }
    if (check.Check(converted)) return { value: converted };
    return { error: check.Errors(converted) };
  };
};
