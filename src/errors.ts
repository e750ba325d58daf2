/** The error a request ends with: its status, code and message, as the errors plugin answers them. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Each field of the row that breaks a rule (legacy data), when that is what stopped the request. */
    readonly fields?: { field: string; value: unknown; rule: string; requires: string }[],
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new HttpError(404, 'NOT_FOUND', `${what} not found`);
