/**
 * The answers sent before a request reaches a route (Node's HTTP parser, Fastify's router), in the
 * one error shape {statusCode, code, error, message}, and in the OpenAPI document of every route:
 * Fastify's own were `414 {"error":"Bad Request",…}` echoing the path, and `431` with no code.
 */
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { Type } from 'typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

/**
 * A path parameter is checked by its route's schema (a 400 naming it, after authentication), not
 * cut off by the router: no URL Node takes holds a longer one.
 */
export const MAX_PARAM_LENGTH = maxHeaderSize;

const errorBody = (statusCode: number, code: string, message: string) =>
  JSON.stringify({ statusCode, code, error: STATUS_CODES[statusCode], message });

/** Fastify's `clientErrorHandler`: what Node's parser refused, answered on the socket. */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let answer: [number, string, string];
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') answer = [408, 'REQUEST_TIMEOUT', 'The request was not received in time'];
  else if (error.code === 'HPE_HEADER_OVERFLOW') {
    answer = [
      431,
      'HEADERS_TOO_LARGE',
      `The request line and headers together exceed ${maxHeaderSize} bytes, the most taken: send a shorter query (fewer values per filter)`,
    ];
  } else answer = [400, 'MALFORMED_REQUEST', 'The request is not valid HTTP/1.1'];
  this.log.trace({ err: error }, 'client error');
  if (socket.writable) {
    const body = errorBody(...answer);
    socket.write(
      `HTTP/1.1 ${answer[0]} ${STATUS_CODES[answer[0]]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Fastify's `frameworkErrors`: a URL the router cannot read. The URL is not echoed. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  const statusCode = error.statusCode ?? 400;
  const message =
    error.code === 'FST_ERR_BAD_URL'
      ? 'The URL is malformed (a % not followed by two hexadecimal digits, or not UTF-8)'
      : `The URL cannot be routed (${error.code})`;
  void reply
    .code(statusCode)
    .type('application/json; charset=utf-8')
    .send(errorBody(statusCode, error.code, message));
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const errorRef = (description: string) => Type.Ref('ErrorResponse', { description });

/** The statuses any route may answer with before or around its handler, added to its documented responses. */
export function transportResponses(route: RouteOptions) {
  const takesBody = [route.method].flat().some((method) => BODY_METHODS.has(method));
  return {
    400: errorRef('Bad request: invalid input, named in the message'),
    408: errorRef('The request was not received within the request timeout'),
    ...(takesBody
      ? {
          413: errorRef('The body is larger than the route takes (1 MiB; the SalesDrive webhook 512 KiB), named in the message'),
          415: errorRef('The body is not JSON (Content-Type), or is compressed (Content-Encoding)'),
        }
      : {}),
    431: errorRef(`The request line and headers exceed ${maxHeaderSize} bytes (a query too long)`),
    500: errorRef('A fault of the service (a bug); nothing a client sends should cause it'),
  };
}
