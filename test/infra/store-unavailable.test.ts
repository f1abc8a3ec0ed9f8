import { describe, expect, it } from 'vitest';
import { isConnectionFailure, orUnavailable, StoreUnavailableError, toStoreError } from '../../src/infra/store-unavailable.ts';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('isConnectionFailure', () => {
  it.each([
    ['refused', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['reset', withCode('read ECONNRESET', 'ECONNRESET')],
    ['admin_shutdown', withCode('terminating connection due to administrator command', '57P01')],
    ['crash_shutdown', withCode('terminating connection because of crash of another server process', '57P02')],
    ['cannot_connect_now', withCode('the database system is starting up', '57P03')],
    ['connection_exception class', withCode('connection failure', '08006')],
    ['too_many_connections', withCode('sorry, too many clients already', '53300')],
    ['terminated', new Error('Connection terminated unexpectedly')],
    ['connect timeout', new Error('Connection terminated due to connection timeout')],
    ['pool timeout', new Error('timeout exceeded when trying to connect')],
    ['client unusable', new Error('Client has encountered a connection error and is not queryable')],
    ['every address refused', new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], '')],
    ['wrapped as a cause', new Error('handler failed', { cause: withCode('x', '57P01') })],
  ])('%s: yes', (_name, error) => {
    expect(isConnectionFailure(error)).toBe(true);
  });

  it.each([
    ['syntax error', withCode('syntax error at or near "SELEC"', '42601')],
    ['unique violation', withCode('duplicate key value', '23505')],
    ['serialization failure', withCode('could not serialize access', '40001')],
    ['query canceled', withCode('canceling statement due to statement timeout', '57014')],
    ['plain error', new Error('boom')],
    ['not an error', 'ECONNREFUSED'],
  ])('%s: no', (_name, error) => {
    expect(isConnectionFailure(error)).toBe(false);
  });
});

describe('StoreUnavailableError', () => {
  it('names the store and the innermost reason, and keeps the original as its cause', () => {
    const cause = new Error('projection failed', { cause: withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED') });
    const error = toStoreError('read database', cause) as StoreUnavailableError;
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toBe('The read database is unavailable: connect ECONNREFUSED 127.0.0.1:5432');
    expect(error.store).toBe('read database');
    expect(error.cause).toBe(cause);
    // Not wrapped twice.
    expect(toStoreError('event store', error)).toBe(error);
  });

  it('orUnavailable passes results and other errors through unchanged', async () => {
    expect(await orUnavailable('event store', async () => 42)).toBe(42);
    const other = withCode('duplicate key value', '23505');
    await expect(orUnavailable('event store', () => Promise.reject(other))).rejects.toBe(other);
    await expect(orUnavailable('event store', () => Promise.reject(new Error('Connection terminated unexpectedly'))))
      .rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
