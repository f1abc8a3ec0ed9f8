/**
 * A transaction whose statement failed but whose callback caught the error and returned normally.
 * PostgreSQL turns the COMMIT of such a transaction into a ROLLBACK without raising an error; the
 * adapters raise this instead, so nothing is ever silently lost.
 */
export class TransactionAbortedError extends Error {
  constructor() {
    super('The transaction was aborted by a failed statement whose error was caught; it was rolled back');
    this.name = 'TransactionAbortedError';
  }
}

export class ReadDbClosedError extends Error {
  constructor() {
    super('Read database is closed');
    this.name = 'ReadDbClosedError';
  }
}
