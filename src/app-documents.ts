// Part of the composition root (app.ts): which blob store, vector index and embedder documents use.
import { join } from 'node:path';
import type { BlobStore } from './infra/blob-store/port.ts';
import type { Config, EmbeddingsConfig } from './infra/config.ts';
import type { Embedder } from './infra/embedders/port.ts';
import type { PersonalDataCodec } from './infra/personal-data/codec.ts';
import type { ReadDb } from './infra/read-db/port.ts';
import type { VectorIndex } from './infra/vector-index/port.ts';

export interface DocumentInfra {
  blobs: BlobStore;
  vectorIndex: VectorIndex;
  /** Null: no embedding model is configured, and retrieval is lexical only. */
  embedder: Embedder | null;
  /** The model before an embedding-model change (EMBEDDINGS_PREVIOUS_*): it embeds queries for its space until the new one is complete. */
  previousEmbedder: Embedder | null;
  /** For the start-up log and the status query: which vector index and embedder, and why. */
  description: { vectorIndex: string; embedder: string; previousEmbedder?: string };
  close(): Promise<void>;
}

/** File bytes: a folder beside events.sqlite, or a table in PostgreSQL (the log's, or DATABASE_URL beside KurrentDB). */
export async function openBlobStore(config: Config, codec: PersonalDataCodec): Promise<BlobStore> {
  if (config.eventStore !== 'sqlite') {
    const { PostgresBlobStore } = await import('./infra/blob-store/postgres-blob-store.ts');
    return PostgresBlobStore.open({ connectionString: config.databaseUrl!, keys: codec });
  }
  const { LocalBlobStore } = await import('./infra/blob-store/local-blob-store.ts');
  return LocalBlobStore.open({ dir: join(config.dataDir, 'blobs'), keys: codec });
}

/**
 * File bytes live with the log (a folder beside events.sqlite, or a table in the log's PostgreSQL,
 * so every instance sees every file). Weaviate and the GGUF embedder load their (large) clients only
 * when configured.
 */
export async function openDocumentInfra(config: Config, deps: { codec: PersonalDataCodec; readDb: ReadDb }): Promise<DocumentInfra> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => {});
  };
  try {
    const blobs = await openBlobStore(config, deps.codec);
    closers.push(() => blobs.close());

    let vectorIndex: VectorIndex;
    let vectorDescription: string;
    if (config.documents.weaviate) {
      const { WeaviateIndex } = await import('./infra/vector-index/weaviate-index.ts');
      const weaviate = await WeaviateIndex.connect({ url: config.documents.weaviate.url, apiKey: config.documents.weaviate.apiKey });
      closers.push(() => weaviate.close());
      vectorIndex = weaviate;
      vectorDescription = 'Weaviate';
    } else {
      const { createVectorIndex } = await import('./infra/vector-index/create-vector-index.ts');
      const chosen = await createVectorIndex(deps.readDb);
      vectorIndex = chosen.index;
      vectorDescription = chosen.reason;
    }

    const current = await openEmbedder(config.documents.embeddings, closers);
    const previous = await openEmbedder(config.documents.previousEmbeddings, closers);
    const description: DocumentInfra['description'] = { vectorIndex: vectorDescription, embedder: current?.description ?? 'none: retrieval is lexical only' };
    if (previous) description.previousEmbedder = previous.description;
    return { blobs, vectorIndex, embedder: current?.embedder ?? null, previousEmbedder: previous?.embedder ?? null, description, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function openEmbedder(embeddings: EmbeddingsConfig | undefined, closers: Array<() => Promise<void>>): Promise<{ embedder: Embedder; description: string } | null> {
  if (embeddings?.kind === 'openai-compatible') {
    const { OpenAiCompatibleEmbedder } = await import('./infra/embedders/openai-compatible-embedder.ts');
    const embedder = new OpenAiCompatibleEmbedder({ baseUrl: embeddings.baseUrl, model: embeddings.model, apiKey: embeddings.apiKey });
    return { embedder, description: `OpenAI-compatible (${embeddings.model})` };
  }
  if (embeddings?.kind === 'gguf') {
    const { LlamaCppEmbedder } = await import('./infra/embedders/llama-cpp-embedder.ts');
    const gguf = await LlamaCppEmbedder.open({ modelPath: embeddings.path });
    closers.push(() => gguf.close());
    return { embedder: gguf, description: `GGUF through llama.cpp (${gguf.modelId})` };
  }
  return null;
}
