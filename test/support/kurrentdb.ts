// Where the KurrentDB suites find a server: KURRENTDB_URL, or a throwaway container when a Docker
// engine is reachable (@testcontainers/kurrentdb). KurrentDB is not a CI requirement (like Weaviate):
// without either, the suites skip with one visible line, also under CI=true.

/** The image a container is started from; KURRENTDB_IMAGE overrides it. */
export const KURRENTDB_IMAGE = process.env.KURRENTDB_IMAGE ?? 'docker.kurrent.io/kurrent-latest/kurrentdb:25.0';

/** How long to look for a Docker engine before skipping. */
const DOCKER_PROBE_MS = 5_000;

export interface KurrentDbServer {
  url: string;
  stop(): Promise<void>;
}

export type KurrentDbTarget = { kind: 'url'; url: string } | { kind: 'docker' } | { kind: 'none'; reason: string };

/** Whether a container engine answers, within a few seconds. */
async function dockerReachable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), DOCKER_PROBE_MS); });
    try {
      return await Promise.race([getContainerRuntimeClient().then(() => true, () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  } catch {
    return false;
  }
}

/** Decides once per file where the suite runs, and prints the one skip line when it cannot. */
export async function kurrentDbTarget(suite: string): Promise<KurrentDbTarget> {
  const url = process.env.KURRENTDB_URL;
  if (url) return { kind: 'url', url };
  if (process.env.KURRENTDB_DOCKER !== '0' && await dockerReachable()) return { kind: 'docker' };
  const reason = `${suite}: skipped, KURRENTDB_URL is not set and no Docker engine is reachable`;
  console.warn(reason);
  return { kind: 'none', reason };
}

/** The server for a target: the given URL, or a fresh container (single node, insecure, 8 MiB appends). */
export async function startKurrentDb(target: KurrentDbTarget): Promise<KurrentDbServer> {
  if (target.kind === 'url') return { url: target.url, stop: async () => {} };
  if (target.kind === 'none') throw new Error(target.reason);
  const { KurrentDbContainer } = await import('@testcontainers/kurrentdb');
  // The port allows events of 1 MiB of data and metadata; KurrentDB's default append limit is 1 MiB in all.
  const container = await new KurrentDbContainer(KURRENTDB_IMAGE)
    .withEnvironment({ KURRENTDB_MAX_APPEND_SIZE: String(8 * 1024 * 1024) })
    .start();
  return { url: container.getConnectionString(), stop: async () => { await container.stop(); } };
}
