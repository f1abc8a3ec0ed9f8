// The ingestion pipeline with Weaviate as the vector index (its chunk texts, hybrid queries, deletes
// and erasure), on PGlite. Runs when WEAVIATE_URL points at a server (gRPC on port 50051 of the same
// host unless WEAVIATE_GRPC_URL says otherwise); otherwise skips with one line.
import { describe } from 'vitest';
import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { spaceFor } from '../../../src/infra/vector-index/port.ts';
import { WeaviateIndex } from '../../../src/infra/vector-index/weaviate-index.ts';
import { TEST_EMBEDDER_MODEL_ID } from '../../support/test-embedder.ts';
import { pipelineSuite } from './pipeline.suite.ts';

const url = process.env.WEAVIATE_URL;
const skip = url ? undefined : 'ingestion pipeline on Weaviate: skipped, WEAVIATE_URL is not set';
if (skip) console.warn(skip);

describe.skipIf(skip)('ingestion pipeline on Weaviate', () => {
  pipelineSuite('PGlite + Weaviate', async () => {
    const db = await PgliteReadDb.open();
    const vectorIndex = await WeaviateIndex.connect({ url: url!, grpcUrl: process.env.WEAVIATE_GRPC_URL, apiKey: process.env.WEAVIATE_API_KEY });
    // The suite's owner and model are fixed: start from an empty space on a server that outlives the run.
    await vectorIndex.dropSpace(spaceFor(TEST_EMBEDDER_MODEL_ID, 256));
    return {
      db, vectorIndex,
      async close() {
        await vectorIndex.dropSpace(spaceFor(TEST_EMBEDDER_MODEL_ID, 256));
        await vectorIndex.close();
        await db.close();
      },
    };
  });
});
