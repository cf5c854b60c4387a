/**
 * Engine errors carry the HTTP status Docker uses for the same failure, so the API layer
 * only has to copy `statusCode` and `message` into a Docker-shaped `{"message": ...}` body.
 */
export class WharfError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the request itself is wrong (bad flag value, malformed body, invalid reference). */
export class InvalidParameterError extends WharfError {
  constructor(message: string) {
    super(message, 400);
  }
}

/** 404: no such container, image, exec, network or volume. */
export class NotFoundError extends WharfError {
  constructor(message: string) {
    super(message, 404);
  }
}

/** 409: the object exists but its state forbids the operation (name in use, running, ...). */
export class ConflictError extends WharfError {
  constructor(message: string) {
    super(message, 409);
  }
}

/** 304: the operation was a no-op (start of a running container, stop of a stopped one). */
export class NotModifiedError extends WharfError {
  constructor(message: string) {
    super(message, 304);
  }
}

/** 403: refused by policy. */
export class ForbiddenError extends WharfError {
  constructor(message: string) {
    super(message, 403);
  }
}

/** 500: the engine or the runtime failed. */
export class SystemError extends WharfError {
  constructor(message: string) {
    super(message, 500);
  }
}

export function isWharfError(err: unknown): err is WharfError {
  return err instanceof WharfError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
