import { describe, expect, it } from 'vitest';
import { currentSchemaVersions, domainUpcasting, upcasters } from '../../src/domain/event-versions.ts';
import { createUpcasterRegistry, EventVersionError } from '../../src/domain/upcasting.ts';

const registry = createUpcasterRegistry({ Renamed: 3, Other: 1 }, [
  { type: 'Renamed', fromVersion: 1, upcast: (d) => ({ title: (d as { name: string }).name }) },
  { type: 'Renamed', fromVersion: 2, upcast: (d) => ({ title: (d as { title: string }).title, lang: 'en' }) },
]);

describe('upcaster registry', () => {
  it('runs the whole chain from an old version to the current one', () => {
    expect(registry.upcast({ type: 'Renamed', schemaVersion: 1, data: { name: 'a' }, id: 'x' }))
      .toEqual({ type: 'Renamed', schemaVersion: 3, data: { title: 'a', lang: 'en' }, id: 'x' });
    expect(registry.upcast({ type: 'Renamed', schemaVersion: 2, data: { title: 'b' } }))
      .toEqual({ type: 'Renamed', schemaVersion: 3, data: { title: 'b', lang: 'en' } });
  });

  it('returns current and unknown event types unchanged (the same object)', () => {
    const current = { type: 'Renamed', schemaVersion: 3, data: {} };
    const unknown = { type: 'Tested', schemaVersion: 7, data: {} };
    expect(registry.upcast(current)).toBe(current);
    expect(registry.upcast(unknown)).toBe(unknown);
  });

  it('refuses an event newer than the code, and a chain with a missing step', () => {
    expect(() => registry.upcast({ type: 'Renamed', schemaVersion: 4, data: {} })).toThrow(EventVersionError);
    expect(() => registry.upcast({ type: 'Renamed', schemaVersion: 4, data: {} })).toThrow(/newer than this version/);
    const gappy = createUpcasterRegistry({ Renamed: 3 }, [{ type: 'Renamed', fromVersion: 2, upcast: (d) => d }]);
    expect(() => gappy.upcast({ type: 'Renamed', schemaVersion: 1, data: {} })).toThrow(/v1 has no upcaster to v2/);
    expect(() => registry.upcast({ type: 'Other', schemaVersion: 0, data: {} })).toThrow(/has no upcaster/);
  });

  it('refuses a malformed registry', () => {
    expect(() => createUpcasterRegistry({ A: 2 }, [{ type: 'B', fromVersion: 1, upcast: (d) => d }])).toThrow(/unknown event type/);
    expect(() => createUpcasterRegistry({ A: 2 }, [{ type: 'A', fromVersion: 2, upcast: (d) => d }])).toThrow(/below the current/);
    expect(() => createUpcasterRegistry({ A: 2 }, [{ type: 'A', fromVersion: 0, upcast: (d) => d }])).toThrow(/below the current/);
    expect(() => createUpcasterRegistry({ A: 3 }, [
      { type: 'A', fromVersion: 1, upcast: (d) => d }, { type: 'A', fromVersion: 1, upcast: (d) => d },
    ])).toThrow(/Two upcasters/);
  });

  it('the domain registry knows every event type the deciders emit, and each has a complete chain', () => {
    for (const type of ['UserRegistered', 'SessionStarted', 'LoginFailed', 'EmailClaimed', 'FirstAdminClaimed', 'ConversationStarted', 'AssistantReplyCompleted']) {
      expect(domainUpcasting.currentVersion(type)).toBe(currentSchemaVersions[type]);
    }
    for (const [type, version] of Object.entries(currentSchemaVersions)) {
      for (let from = 1; from < version; from++) expect(upcasters.some((u) => u.type === type && u.fromVersion === from)).toBe(true);
    }
  });
});
