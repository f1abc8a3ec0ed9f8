// Weaviate is not a CI requirement: this suite runs when WEAVIATE_URL points at a server (gRPC on
// port 50051 of the same host unless WEAVIATE_GRPC_URL says otherwise) and otherwise skips with one line.
import { describe } from 'vitest';
import { WeaviateIndex } from '../../../src/infra/vector-index/weaviate-index.ts';
import { vectorIndexContract } from '../../contract/vector-index.contract.ts';

const url = process.env.WEAVIATE_URL;
const skip = url ? undefined : 'Weaviate vector index contract: skipped, WEAVIATE_URL is not set';
if (skip) console.warn(skip);

describe.skipIf(skip)('weaviate', () => {
  vectorIndexContract('Weaviate', async () => {
    const index = await WeaviateIndex.connect({ url: url!, grpcUrl: process.env.WEAVIATE_GRPC_URL, apiKey: process.env.WEAVIATE_API_KEY });
    return { index, dispose: () => index.close() };
  }, { hybrid: true });
});
