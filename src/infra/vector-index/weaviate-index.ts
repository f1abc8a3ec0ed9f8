/**
 * Vector index on Weaviate (weaviate-client v3): bring-your-own vectors, one collection per space,
 * named `EvidentVectors_<space id>` with the model and dimensions in its description, multi-tenancy
 * with one tenant per owner (so an owner's vectors live in their own shard and erasure drops the
 * tenant), batch import, deletes by filter, and hybrid queries: each object keeps its chunk's text
 * in a searchable `text` property, and `hybridSearch` asks Weaviate for its BM25 ranking of that
 * text fused with vector similarity by ranked fusion (RRF). Object ids are UUIDv5 of the chunkId, so
 * a repeated upsert replaces the object.
 *
 * Unlike the SQL adapters, a batch that Weaviate rejects part of may leave the accepted part written
 * (Weaviate has no transactions); invalid items are still refused before anything is sent.
 */
import { createHash } from 'node:crypto';
import weaviate, { Filters, generateUuid5, type Collection, type FilterValue, type WeaviateClient } from 'weaviate-client';
import { DEFAULT_B, DEFAULT_K1 } from '../retrieval/lexical/lexical-index.ts';
import type { RankedChunk, RetrievalFilter } from '../retrieval/types.ts';
import {
  checkCountFilter, checkItems, checkOwnerDocument, checkSearch, checkSpace, VectorIndexError,
  type VectorIndex, type VectorItem, type VectorSpace,
} from './port.ts';

export interface WeaviateIndexOptions {
  /** HTTP endpoint, e.g. http://127.0.0.1:8080 (WEAVIATE_URL). */
  url: string;
  /** gRPC endpoint; default the same host on port 50051, secure when the HTTP URL is https. */
  grpcUrl?: string;
  apiKey?: string;
}

type ChunkProperties = { chunkId: string; documentId: string; version: number; text?: string };

/** Keyword side of a hybrid query: the text property, and the query's words cut at this length. */
const TEXT_PROPERTY = 'text';
const MAX_QUERY_CHARS = 8_000;

const COLLECTION_PREFIX = 'EvidentVectors_';
/** Fixed namespace for object ids derived from chunk ids. */
const CHUNK_NAMESPACE = '6f1b8f2e-4c1d-5a7e-9b3f-2d8c0e4a1b7c';
const IMPORT_BATCH = 200;

/** Tenant names allow [A-Za-z0-9_-]{1,64}; a hash of the owner id always fits and reveals nothing. */
export function tenantOf(ownerId: string): string {
  return `o${createHash('sha256').update(ownerId).digest('hex').slice(0, 48)}`;
}

export function collectionOf(space: VectorSpace): string {
  return `${COLLECTION_PREFIX}${space.id}`;
}

function endpoint(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new VectorIndexError('invalid-input', `${what} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new VectorIndexError('invalid-input', `${what} must be an http(s) URL`);
  return url;
}

export class WeaviateIndex implements VectorIndex {
  readonly kind = 'weaviate';
  readonly supportsHybrid = true;
  readonly #client: WeaviateClient;
  /** Per collection: does it have the searchable text property (collections made before it do not). */
  readonly #keepsText = new Map<string, boolean>();

  private constructor(client: WeaviateClient) {
    this.#client = client;
  }

  static async connect(options: WeaviateIndexOptions): Promise<WeaviateIndex> {
    const http = endpoint(options.url, 'WEAVIATE_URL');
    const grpc = options.grpcUrl ? endpoint(options.grpcUrl, 'Weaviate gRPC URL') : undefined;
    const httpSecure = http.protocol === 'https:';
    const client = await weaviate.connectToCustom({
      httpHost: http.hostname,
      httpPort: Number(http.port || (httpSecure ? 443 : 80)),
      httpPath: http.pathname === '/' ? undefined : http.pathname.replace(/\/+$/, ''),
      httpSecure,
      grpcHost: grpc?.hostname ?? http.hostname,
      grpcPort: Number(grpc?.port || (grpc ? (grpc.protocol === 'https:' ? 443 : 80) : 50051)),
      grpcSecure: grpc ? grpc.protocol === 'https:' : httpSecure,
      authCredentials: options.apiKey ? new weaviate.ApiKey(options.apiKey) : undefined,
    });
    return new WeaviateIndex(client);
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  #collection(space: VectorSpace): Collection<ChunkProperties> {
    return this.#client.collections.get<ChunkProperties>(collectionOf(space));
  }

  async ensureSpace(space: VectorSpace): Promise<void> {
    checkSpace(space);
    const name = collectionOf(space);
    if (await this.#client.collections.exists(name)) return;
    try {
      await this.#client.collections.create<ChunkProperties>({
        name,
        description: JSON.stringify({ modelId: space.modelId, dimensions: space.dimensions }),
        vectorizers: weaviate.configure.vectorizer.selfProvided({
          vectorIndexConfig: weaviate.configure.vectorIndex.hnsw({ distanceMetric: 'cosine' }),
        }),
        multiTenancy: weaviate.configure.multiTenancy({ enabled: true, autoTenantCreation: true, autoTenantActivation: true }),
        // BM25 of the text property with the read model's tuned k1/b; Weaviate's own word tokenizer and English stop words (no stemming).
        invertedIndex: weaviate.configure.invertedIndex({ bm25k1: DEFAULT_K1, bm25b: DEFAULT_B, stopwordsPreset: 'en' }),
        properties: [
          { name: 'chunkId', dataType: 'text', tokenization: 'field', indexSearchable: false },
          { name: 'documentId', dataType: 'text', tokenization: 'field', indexSearchable: false },
          { name: 'version', dataType: 'int' },
          { name: TEXT_PROPERTY, dataType: 'text', tokenization: 'word', indexSearchable: true, indexFilterable: false },
        ],
      });
    } catch (error) {
      if (!(await this.#client.collections.exists(name))) throw error; // else another instance created it meanwhile
    }
  }

  async upsert(space: VectorSpace, items: VectorItem[]): Promise<void> {
    checkSpace(space);
    const unique = checkItems(space, items);
    if (unique.length === 0) return;
    await this.#requireSpace(space);
    const byOwner = new Map<string, VectorItem[]>();
    for (const item of unique) byOwner.set(item.ownerId, [...(byOwner.get(item.ownerId) ?? []), item]);
    // A collection made before text was kept takes none (its schema has no such property to fill).
    const keepsText = await this.#keepsTextIn(space);
    for (const [ownerId, owned] of byOwner) {
      const collection = this.#collection(space).withTenant(tenantOf(ownerId));
      for (let start = 0; start < owned.length; start += IMPORT_BATCH) {
        const result = await collection.data.insertMany(owned.slice(start, start + IMPORT_BATCH).map((item) => ({
          id: generateUuid5(item.chunkId, CHUNK_NAMESPACE),
          properties: {
            chunkId: item.chunkId, documentId: item.documentId, version: item.version,
            ...(keepsText && item.text !== undefined ? { [TEXT_PROPERTY]: item.text } : {}),
          },
          vectors: Array.from(item.vector),
        })));
        if (result.hasErrors) {
          const errors = Object.values(result.errors);
          throw new Error(`Weaviate refused ${errors.length} of ${owned.length} objects: ${errors[0]?.message ?? 'no reason given'}`);
        }
      }
    }
  }

  async search(space: VectorSpace, vector: Float32Array, filter: RetrievalFilter, limit: number): Promise<RankedChunk[]> {
    checkSpace(space);
    checkSearch(space, vector, filter, limit);
    await this.#requireSpace(space);
    if (limit === 0 || filter.documentIds?.length === 0) return [];
    const collection = this.#collection(space);
    if (!(await this.#hasTenant(collection, filter.ownerId))) return [];
    const tenant = collection.withTenant(tenantOf(filter.ownerId));
    const filters = filter.documentIds === undefined ? undefined : tenant.filter.byProperty('documentId').containsAny([...new Set(filter.documentIds)]);
    const result = await tenant.query.nearVector(Array.from(vector), {
      limit, filters, returnMetadata: ['distance'], returnProperties: ['chunkId', 'documentId', 'version'],
    });
    return result.objects.map((object, i) => ({
      chunkId: object.properties.chunkId,
      documentId: object.properties.documentId,
      version: object.properties.version,
      score: 1 - (object.metadata?.distance ?? 1),
      rank: i + 1,
    }));
  }

  /**
   * Weaviate's hybrid query in the owner's tenant: BM25 over the text property (any of the query's
   * words) and nearVector with `vector`, fused by ranked fusion with equal weights (alpha 0.5), i.e.
   * reciprocal rank fusion with k 60 (Weaviate counts ranks from 0, and halves the sum). Objects
   * without text are still found by the vector side. The score is Weaviate's fused score.
   */
  async hybridSearch(space: VectorSpace, text: string, vector: Float32Array, filter: RetrievalFilter, limit: number): Promise<RankedChunk[]> {
    checkSpace(space);
    checkSearch(space, vector, filter, limit);
    if (typeof text !== 'string' || text.includes('\0')) throw new VectorIndexError('invalid-input', 'the query text must be a string without NUL');
    await this.#requireSpace(space);
    if (!(await this.#keepsTextIn(space))) {
      throw new VectorIndexError('unsupported', `vector space ${space.id} was made before the index kept chunk text: no hybrid query there`);
    }
    if (limit === 0 || filter.documentIds?.length === 0) return [];
    const collection = this.#collection(space);
    if (!(await this.#hasTenant(collection, filter.ownerId))) return [];
    const tenant = collection.withTenant(tenantOf(filter.ownerId));
    const filters = filter.documentIds === undefined ? undefined : tenant.filter.byProperty('documentId').containsAny([...new Set(filter.documentIds)]);
    const result = await tenant.query.hybrid(text.slice(0, MAX_QUERY_CHARS), {
      vector: Array.from(vector), alpha: 0.5, fusionType: 'Ranked', queryProperties: [TEXT_PROPERTY],
      limit, filters, returnMetadata: ['score'], returnProperties: ['chunkId', 'documentId', 'version'],
    });
    return result.objects.map((object, i) => ({
      chunkId: object.properties.chunkId,
      documentId: object.properties.documentId,
      version: object.properties.version,
      score: object.metadata?.score ?? 0,
      rank: i + 1,
    }));
  }

  async deleteDocument(ownerId: string, documentId: string): Promise<number> {
    checkOwnerDocument(ownerId, documentId);
    return this.#deleteEverywhere(ownerId, (c) => c.filter.byProperty('documentId').equal(documentId));
  }

  async deleteDocumentVersion(ownerId: string, documentId: string, version: number): Promise<number> {
    checkOwnerDocument(ownerId, documentId, version);
    return this.#deleteEverywhere(ownerId, (c) => Filters.and(c.filter.byProperty('documentId').equal(documentId), c.filter.byProperty('version').equal(version)));
  }

  /** Counts the owner's objects in each space, then removes the owner's tenant from it. */
  async deleteOwner(ownerId: string): Promise<number> {
    checkOwnerDocument(ownerId);
    let removed = 0;
    for (const space of await this.spaces()) {
      const collection = this.#collection(space);
      if (!(await this.#hasTenant(collection, ownerId))) continue;
      removed += (await collection.withTenant(tenantOf(ownerId)).aggregate.overAll()).totalCount;
      await collection.tenants.remove(tenantOf(ownerId));
    }
    return removed;
  }

  async count(space: VectorSpace, filter: { ownerId?: string; documentId?: string } = {}): Promise<number> {
    checkSpace(space);
    checkCountFilter(filter);
    await this.#requireSpace(space);
    const collection = this.#collection(space);
    const tenants = filter.ownerId !== undefined
      ? ((await this.#hasTenant(collection, filter.ownerId)) ? [tenantOf(filter.ownerId)] : [])
      : Object.keys(await collection.tenants.get());
    let total = 0;
    for (const name of tenants) {
      const tenant = collection.withTenant(name);
      const filters = filter.documentId === undefined ? undefined : tenant.filter.byProperty('documentId').equal(filter.documentId);
      total += (await tenant.aggregate.overAll({ filters })).totalCount;
    }
    return total;
  }

  async spaces(): Promise<VectorSpace[]> {
    const spaces: VectorSpace[] = [];
    for (const config of await this.#client.collections.listAll()) {
      if (!config.name.startsWith(COLLECTION_PREFIX)) continue;
      try {
        const { modelId, dimensions } = JSON.parse(config.description ?? '') as { modelId: string; dimensions: number };
        const space = { id: config.name.slice(COLLECTION_PREFIX.length), modelId, dimensions };
        checkSpace(space);
        spaces.push(space);
      } catch {
        // not a collection this adapter made (or its description was edited): ignore it
      }
    }
    return spaces.sort((a, b) => a.id.localeCompare(b.id));
  }

  async dropSpace(space: VectorSpace): Promise<void> {
    checkSpace(space);
    this.#keepsText.delete(collectionOf(space));
    if (await this.#client.collections.exists(collectionOf(space))) await this.#client.collections.delete(collectionOf(space));
  }

  async #deleteEverywhere(ownerId: string, where: (c: Collection<ChunkProperties>) => FilterValue): Promise<number> {
    let removed = 0;
    for (const space of await this.spaces()) {
      const collection = this.#collection(space);
      if (!(await this.#hasTenant(collection, ownerId))) continue;
      const tenant = collection.withTenant(tenantOf(ownerId));
      // A batch delete removes at most the server's QUERY_MAXIMUM_RESULTS objects: repeat until none match.
      for (;;) {
        const result = await tenant.data.deleteMany(where(tenant));
        removed += result.successful;
        if (result.failed > 0) throw new Error(`Weaviate failed to delete ${result.failed} objects of a document`);
        if (result.matches === 0 || result.successful === 0) break;
      }
    }
    return removed;
  }

  async #keepsTextIn(space: VectorSpace): Promise<boolean> {
    const name = collectionOf(space);
    let keeps = this.#keepsText.get(name);
    if (keeps === undefined) {
      const config = await this.#client.collections.get(name).config.get();
      keeps = config.properties.some((property) => property.name === TEXT_PROPERTY && property.indexSearchable);
      this.#keepsText.set(name, keeps);
    }
    return keeps;
  }

  async #hasTenant(collection: Collection<ChunkProperties>, ownerId: string): Promise<boolean> {
    return (await collection.tenants.getByName(tenantOf(ownerId))) !== null;
  }

  async #requireSpace(space: VectorSpace): Promise<void> {
    if (!(await this.#client.collections.exists(collectionOf(space)))) {
      throw new VectorIndexError('unknown-space', `vector space ${space.id} (${space.modelId}, ${space.dimensions} dimensions) does not exist: call ensureSpace first`);
    }
  }
}
