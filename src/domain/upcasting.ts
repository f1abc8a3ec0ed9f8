/**
 * Upcasting (ARCHITECTURE.md §3): a published event never changes meaning; when its shape has to
 * change, the new shape gets the next schema version and an upcaster turns the previous version into
 * it. Every read path applies the chain, so deciders, projections and reactors only ever see the
 * current version. An event newer than this code, or one whose chain has a missing step, is an error:
 * reading it as if it were current would be silent data corruption.
 */

export interface StoredEventShape {
  type: string;
  schemaVersion: number;
  data: unknown;
}

/** Turns `data` of version `fromVersion` of `type` into version `fromVersion + 1`. */
export interface Upcaster {
  type: string;
  fromVersion: number;
  upcast(data: unknown): unknown;
}

export class EventVersionError extends Error {
  readonly type: string;
  readonly schemaVersion: number;
  constructor(type: string, schemaVersion: number, message: string) {
    super(message);
    this.name = 'EventVersionError';
    this.type = type;
    this.schemaVersion = schemaVersion;
  }
}

export interface UpcasterRegistry {
  /** The current version of an event type, undefined for types no decider emits. */
  currentVersion(type: string): number | undefined;
  /** The event at its current version; unknown types pass unchanged. Throws EventVersionError. */
  upcast<E extends StoredEventShape>(event: E): E;
}

export function createUpcasterRegistry(currentVersions: Readonly<Record<string, number>>, upcasters: readonly Upcaster[]): UpcasterRegistry {
  const steps = new Map<string, Upcaster>();
  for (const step of upcasters) {
    const current = currentVersions[step.type];
    if (current === undefined) throw new Error(`Upcaster for unknown event type ${step.type}`);
    if (!Number.isInteger(step.fromVersion) || step.fromVersion < 1 || step.fromVersion >= current) {
      throw new Error(`Upcaster ${step.type} v${step.fromVersion}: must start below the current version ${current}`);
    }
    const key = `${step.type}@${step.fromVersion}`;
    if (steps.has(key)) throw new Error(`Two upcasters for ${step.type} v${step.fromVersion}`);
    steps.set(key, step);
  }
  return {
    currentVersion: (type) => currentVersions[type],
    upcast(event) {
      const current = currentVersions[event.type];
      if (current === undefined || event.schemaVersion === current) return event;
      if (event.schemaVersion > current) {
        throw new EventVersionError(event.type, event.schemaVersion,
          `${event.type} v${event.schemaVersion} is newer than this version of Evident knows (v${current}): upgrade before reading this log`);
      }
      let data = event.data;
      for (let version = event.schemaVersion; version < current; version++) {
        const step = steps.get(`${event.type}@${version}`);
        if (!step) throw new EventVersionError(event.type, event.schemaVersion, `${event.type} v${version} has no upcaster to v${version + 1}`);
        data = step.upcast(data);
      }
      return { ...event, schemaVersion: current, data };
    },
  };
}
