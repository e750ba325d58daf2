/**
 * Dilovod's API as the old back office called it (DilovodApiClient.ts): one JSON `POST` to the API's
 * address, `{version: "0.25", key, action, params}`, the key in the body. One client per process,
 * its calls one at a time (Dilovod refuses concurrent sessions of one key: "multithreadApiSession"),
 * each with a timeout, reads retried with backoff. What the old client got wrong is not repeated:
 * Dilovod answers errors as HTTP 200 with `{"error": …}`, and such a body is an error here, never
 * a row (the old one wrapped any object into an array of one row); an answer of the wrong shape is
 * an error too. The key never appears in an error: a message that echoes it has it masked.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fieldOf } from '../field-of.js';

export interface DilovodClientOptions {
  url: string;
  apiKey: string;
  /** Seconds per call. */
  timeout: number;
  /** Retries of a failed read. */
  retries: number;
  /** Seconds before the first retry; each next one waits twice as long. */
  retryDelay: number;
}

export class DilovodError extends Error {
  constructor(
    message: string,
    /** Worth trying again: unreachable, slow, overloaded, busy with another session. */
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'DilovodError';
  }
}

export type DilovodRow = Record<string, unknown>;

/** Dilovod's `request` params: a register or catalogue, the fields by alias, filters. */
export interface DilovodQuery {
  from: string | { type: string; register: string; date?: string };
  fields: Record<string, string>;
  filters?: { alias: string; operator: string; value: unknown }[];
}

export interface DilovodClient {
  /** Rows of a register or catalogue; an error body or any answer but an array of objects throws. */
  request(query: DilovodQuery, signal?: AbortSignal): Promise<DilovodRow[]>;
  /** One object (a good with its table parts); an error body throws. */
  getObject(id: string, signal?: AbortSignal): Promise<DilovodRow>;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function dilovodClient(options: DilovodClientOptions): DilovodClient {
  /** What may be shown of an answer: cut short, the key masked. */
  const excerpt = (text: string) => text.replaceAll(options.apiKey, '***').replace(/\s+/g, ' ').trim().slice(0, 300);
  // one call at a time in this process
  let previous: Promise<unknown> = Promise.resolve();

  async function once(action: string, params: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    const timeout = AbortSignal.timeout(options.timeout * 1000);
    let response: Response;
    let text: string;
    try {
      response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ version: '0.25', key: options.apiKey, action, params }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw error;
      if (timeout.aborted) throw new DilovodError(`Dilovod did not answer in ${options.timeout} s`, true);
      throw new DilovodError(
        `Dilovod is unreachable: ${excerpt(String(fieldOf(fieldOf(error, 'cause'), 'code') ?? fieldOf(error, 'message') ?? error))}`,
        true,
      );
    }
    if (response.status >= 500 || response.status === 408 || response.status === 429)
      throw new DilovodError(`Dilovod answered ${response.status}: ${excerpt(text)}`, true);
    if (!response.ok) throw new DilovodError(`Dilovod refused the call (${response.status}): ${excerpt(text)}`, false);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new DilovodError(`Dilovod answered something that is not JSON: ${excerpt(text)}`, false);
    }
    const error = fieldOf(body, 'error');
    if (error !== undefined && error !== null && error !== '') {
      const message = typeof error === 'string' ? error : JSON.stringify(error);
      // another session of the key is working: the old client waited and tried again, so do we
      throw new DilovodError(`Dilovod answered an error: ${excerpt(message)}`, /multithread/i.test(message));
    }
    return body;
  }

  async function call(action: string, params: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(action, params, signal);
      } catch (error) {
        if (!(error instanceof DilovodError) || !error.transient || attempt >= options.retries) throw error;
        const delay = options.retryDelay * 1000 * 2 ** attempt * (0.75 + Math.random() / 2);
        await sleep(delay, undefined, { signal });
      }
    }
  }

  function serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = previous.then(work, work);
    previous = next.catch(() => undefined);
    return next;
  }

  return {
    request: (query, signal) =>
      serialised(async () => {
        const body = await call('request', query, signal);
        if (!Array.isArray(body) || !body.every(isObject)) {
          throw new DilovodError(
            `Dilovod answered ${excerpt(JSON.stringify(body) ?? 'nothing').slice(0, 120)} where rows were expected (from ${JSON.stringify(query.from)})`,
            false,
          );
        }
        return body;
      }),
    getObject: (id, signal) =>
      serialised(async () => {
        const body = await call('getObject', { id }, signal);
        if (!isObject(body) || !isObject(body.header)) throw new DilovodError(`Dilovod answered no object for ${id}`, false);
        return body;
      }),
  };
}
