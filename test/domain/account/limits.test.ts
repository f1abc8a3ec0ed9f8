import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/decider.ts';
import { refusal as refuse } from '../../support/refusal.ts';
import { sessionDecider, sessionStream, type SessionCommand, type SessionEvent } from '../../../src/domain/account/session.ts';

// The session rules pinned exactly: the token hash is exactly 64 lowercase hex digits, a session
// starts once, and only its own user can end it.

const hash = 'ab'.repeat(32);
const start = (tokenHash = hash): SessionCommand =>
  ({ type: 'StartSession', sessionId: 's1', userId: 'u1', tokenHash, expiresAt: '2026-12-01T00:00:00.000Z' });
const startedEvent: SessionEvent = { type: 'SessionStarted', data: { sessionId: 's1', userId: 'u1', tokenHash: hash, expiresAt: '2026-12-01T00:00:00.000Z', clientAddress: null, userAgent: null } };
const fold = (events: SessionEvent[]) => events.reduce(sessionDecider.evolve, sessionDecider.initialState());

const refusal = (run: () => unknown) => refuse(run, DomainError);

describe('session rules', () => {
  it('names its stream after the session', () => expect(sessionStream('s1')).toBe('session-s1'));

  it('takes a hash of exactly 64 lowercase hex digits and nothing else', () => {
    expect(sessionDecider.decide(start(), fold([]))).toEqual([startedEvent]);
    for (const bad of [hash.slice(1), `${hash}a`, `x${hash}`, `${hash}x`, hash.toUpperCase(), `${hash.slice(2)}\n`]) {
      const error = refusal(() => sessionDecider.decide(start(bad), fold([])));
      expect(error.code, bad).toBe('BAD_USER_INPUT');
      expect(error.message).toBe('Token hash must be a sha256 hex digest');
    }
  });

  it('starts once', () => {
    const error = refusal(() => sessionDecider.decide(start(), fold([startedEvent])));
    expect(error).toMatchObject({ code: 'CONFLICT', message: 'Session already exists', name: 'DomainError' });
  });

  it('ends once, for its own user only; anyone else is told it does not exist', () => {
    const end = (actorId: string): SessionCommand => ({ type: 'EndSession', sessionId: 's1', actorId });
    expect(sessionDecider.decide(end('u1'), fold([startedEvent])))
      .toEqual([{ type: 'SessionEnded', data: { sessionId: 's1', userId: 'u1', reason: 'logout' } }]);
    expect(fold([startedEvent])).toEqual({ status: 'active', userId: 'u1', expiresAt: '2026-12-01T00:00:00.000Z' });
    const ended = fold([startedEvent, { type: 'SessionEnded', data: { sessionId: 's1', userId: 'u1', reason: 'logout' } }]);
    expect(ended).toEqual({ status: 'ended', userId: 'u1', expiresAt: '2026-12-01T00:00:00.000Z' });
    expect(sessionDecider.decide(end('u1'), ended)).toEqual([]);
    for (const [state, actor] of [[fold([startedEvent]), 'u2'], [ended, 'u2'], [fold([]), 'u1']] as const) {
      expect(refusal(() => sessionDecider.decide(end(actor), state))).toMatchObject({ code: 'NOT_FOUND', message: 'Session not found' });
    }
  });
});
