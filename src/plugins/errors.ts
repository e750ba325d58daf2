/**
 * One error shape for every failure, Fastify's own: {statusCode, code, error, message}. Database
 * errors that a client can cause become 4xx; an unreachable database is a 503. The database's
 * `detail` can hold a whole row (password hash included), so it is neither logged nor returned.
 */
import { STATUS_CODES } from 'node:http';
import fp from 'fastify-plugin';
import { CommitOutcomeUnknown, isDatabaseUnavailable } from '../db/client.js';
import { databaseErrorOf, type DriverError } from '../db/driver-errors.js';
import { HttpError } from '../errors.js';
import { fieldOf } from '../field-of.js';
import type { FastifyError, FastifySchemaValidationError } from 'fastify';

function fromDatabase(error: DriverError): HttpError | undefined {
  const constraint = error.constraint ?? '';
  const column = error.column;
  switch (true) {
    case error.code === '23505':
      return new HttpError(409, 'CONFLICT', `Conflicts with an existing row (${constraint || 'unique key'})`);
    case error.code === '23503':
      return new HttpError(409, 'CONFLICT', `Refers to a row that does not exist, or is still referred to (${constraint})`);
    case error.code === '23514':
      return new HttpError(400, 'CHECK_VIOLATION', `Breaks the rule ${constraint}`);
    case error.code === '23502':
      return new HttpError(400, 'NOT_NULL_VIOLATION', `${column ?? 'A field'} must not be null`);
    case error.code.startsWith('22'): // data exception: out of range, invalid value
      return new HttpError(400, 'INVALID_VALUE', 'A value is out of range or malformed');
    case error.code === '57014': // query_canceled: statement_timeout (STATEMENT_TIMEOUT), nothing committed
      return new HttpError(
        503,
        'STATEMENT_TIMEOUT',
        'The database took too long to answer this request (statement timeout); try again shortly',
        {
          'retry-after': '5',
        },
      );
    case error.code === '40001' || error.code === '40P01':
      return new HttpError(409, 'RETRY', 'Conflicting concurrent change; try again');
    default:
      return undefined;
  }
}

function describeValidation(errors: FastifySchemaValidationError[], context: string): string {
  return errors
    .map((e) => {
      const where = `${context}${e.instancePath.replaceAll('/', '.')}`;
      const unknownFields = fieldOf(e.params, 'additionalProperties');
      if (e.keyword === 'additionalProperties' && Array.isArray(unknownFields) && unknownFields.length) {
        return `${where} has unknown field(s): ${unknownFields.join(', ')}`;
      }
      return `${where} ${e.message}`;
    })
    .filter((m) => !m.endsWith('schema is false')) // repeated by the additionalProperties line
    .join('; ');
}

export default fp(
  async (app) => {
    app.setSchemaErrorFormatter((errors, context) => new Error(describeValidation(errors, context)));

    app.setErrorHandler((error: FastifyError, request, reply) => {
      let http: HttpError | undefined;
      if (error instanceof HttpError) http = error;
      else if (error.validation) http = new HttpError(400, 'FST_ERR_VALIDATION', error.message);
      else if (error instanceof CommitOutcomeUnknown) {
        // not a 503: a client retrying it could make the change twice
        http = new HttpError(
          504,
          'OUTCOME_UNKNOWN',
          'The database connection was lost while the change was being committed: it may or may not have been made; read it before trying again',
        );
      } else if (isDatabaseUnavailable(error)) {
        http = new HttpError(503, 'DATABASE_UNAVAILABLE', 'The database is unavailable; try again shortly', { 'retry-after': '5' });
      } else {
        const db = databaseErrorOf(error);
        if (db) http = fromDatabase(db);
        else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          const limit = request.routeOptions.bodyLimit ?? 0;
          http = new HttpError(
            413,
            error.code,
            `The body is larger than ${limit} bytes (${Math.round(limit / 1024)} KiB), the most this route takes`,
          );
        } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
          http = new HttpError(error.statusCode, error.code ?? 'BAD_REQUEST', error.message);
        }
      }
      if (!http) {
        const db = databaseErrorOf(error);
        request.log.error(db ? { dbCode: db.code, constraint: db.constraint, table: db.table } : { err: error }, 'unhandled error');
        http = new HttpError(500, 'INTERNAL_ERROR', 'Internal Server Error');
      } else if (http.statusCode >= 500) {
        request.log.warn({ code: http.code }, http.message);
      }
      reply
        .code(http.statusCode)
        .headers(http.headers)
        .send({
          statusCode: http.statusCode,
          code: http.code,
          error: STATUS_CODES[http.statusCode],
          message: http.message,
          ...(http.fields ? { fields: http.fields } : {}),
        });
    });

    app.setNotFoundHandler((request, reply) => {
      reply
        .code(404)
        .send({ statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: `Route ${request.method} ${request.url} not found` });
    });
  },
  { name: 'errors' },
);
