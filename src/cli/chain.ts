// What verify, seal and export share: which key the chain is checked (or signed) with, and sealing
// the log's tail now with the server's own sealer (ChainSealer on the processor core's lease loop).
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSigningKey, parseSigningKey, SIGNING_KEY_FILE, toPublicKey } from '../infra/audit/signing-key.ts';
import { ChainSealer } from '../projections/chain-sealer.ts';
import type { CliContext } from './context.ts';
import { unavailable, usageError } from './errors.ts';

const SEAL_WAIT_MS = 120_000;

/** The configured (CHAIN_SIGNING_KEY) or embedded (DATA_DIR/chain-signing.pem) signing key; null when there is none. Never generated here. */
export function configuredSigningKey(ctx: CliContext): KeyObject | null {
  const { chainSigningKey, dataDir } = ctx.config;
  if (chainSigningKey !== undefined) return parseSigningKey(chainSigningKey, 'CHAIN_SIGNING_KEY');
  const path = join(dataDir, SIGNING_KEY_FILE);
  if (!existsSync(path)) return null;
  try {
    return parseSigningKey(readFileSync(path, 'utf8'), path);
  } catch (error) {
    throw unavailable((error as Error).message);
  }
}

/** An SPKI PEM public key from a file (exit 2 when it is missing or not an Ed25519 key). */
export function publicKeyFromFile(file: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw usageError(`Cannot read the public key file ${file}`);
  }
  if (text.includes('PRIVATE KEY')) throw usageError(`${file} holds a private key: give the public key (evident verify --export-public-key)`);
  try {
    return toPublicKey(text);
  } catch {
    throw usageError(`${file} is not an Ed25519 public key in SPKI PEM form`);
  }
}

/**
 * Seals every event appended so far and signs a checkpoint at the head, as the server's sealer does,
 * then stops. Needs the read database for the sealer's lease (embedded: the data directory's lock, so
 * not beside a running server, whose own sealer does this job). Returns the head it sealed up to.
 */
export async function sealNow(ctx: CliContext): Promise<{ sealedTo: bigint; sealedNow: number }> {
  const log = await ctx.log();
  const chain = await ctx.chain();
  const target = await log.headPosition();
  const before = await chain.head();
  const latest = await chain.latestCheckpoint();
  if (before.position >= target && (latest?.seq ?? 0) >= before.seq) return { sealedTo: before.position, sealedNow: 0 };
  let signingKey = configuredSigningKey(ctx);
  if (!signingKey) {
    // A new key is what the server would make on its first start; but not beside checkpoints signed by another.
    if (latest) throw unavailable(`No signing key here (CHAIN_SIGNING_KEY, or ${SIGNING_KEY_FILE} in DATA_DIR), but the chain has checkpoints signed with one: configure that key`);
    signingKey = loadSigningKey({ dataDir: ctx.config.dataDir });
  }
  const leases = await ctx.readDb();
  const sealer = new ChainSealer({
    log, chain, signingKey, leases, logger: ctx.logger.child({ component: 'chain' }), checkpointIntervalMs: 0, idlePollMs: 50,
  });
  sealer.start();
  try {
    const deadline = Date.now() + SEAL_WAIT_MS;
    if (!await sealer.waitFor(target, SEAL_WAIT_MS)) throw unavailable(`The chain did not reach position ${target} within ${SEAL_WAIT_MS / 1000} s`);
    // Caught up, the sealer signs at once (checkpointIntervalMs 0): wait for that checkpoint too.
    for (;;) {
      const [head, signed] = [await chain.head(), await chain.latestCheckpoint()];
      if ((signed?.seq ?? 0) >= head.seq) break;
      if (Date.now() > deadline) throw unavailable(`No checkpoint was signed at the chain head within ${SEAL_WAIT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await sealer.stop(); // signs a checkpoint over what this run sealed
  }
  const after = await chain.head();
  return { sealedTo: after.position, sealedNow: after.seq - before.seq };
}
