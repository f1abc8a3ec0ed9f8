// Embedder for a local GGUF model through node-llama-cpp, on the CPU with its prebuilt binaries (no
// build, no download). The model path is the user's; modelId names the file and a hash of its bytes,
// so a different file under the same name gets a different vector space.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { getLlama, LlamaLogLevel, type LlamaEmbeddingContext, type LlamaModel } from 'node-llama-cpp';
import { EmbedderError, type Embedder } from './port.ts';

export interface LlamaCppEmbedderOptions {
  /** Path of a GGUF file. */
  modelPath: string;
  /**
   * CPU threads for evaluation, default 2. Set it: node-llama-cpp's default uses every core and on a
   * small machine takes many times longer (see ../shared/models/README.md).
   */
  threads?: number;
  /** Tokens the context holds (the longest input); default the model's training context, at most 4096. */
  contextSize?: number;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class LlamaCppEmbedder implements Embedder {
  readonly modelId: string;
  readonly #model: LlamaModel;
  readonly #context: LlamaEmbeddingContext;
  readonly #dimensions: number;
  #closed = false;

  private constructor(modelId: string, model: LlamaModel, context: LlamaEmbeddingContext) {
    this.modelId = modelId;
    this.#model = model;
    this.#context = context;
    this.#dimensions = model.embeddingVectorSize;
  }

  /** Loads the model; `unavailable` when the file is missing or not a model node-llama-cpp can load. */
  static async open(options: LlamaCppEmbedderOptions): Promise<LlamaCppEmbedder> {
    const threads = options.threads ?? 2;
    if (!Number.isInteger(threads) || threads < 1) throw new EmbedderError('unavailable', 'threads must be a positive integer');
    try {
      if (!(await stat(options.modelPath)).isFile()) throw new Error('not a file');
    } catch (error) {
      throw new EmbedderError('unavailable', `GGUF model file ${basename(options.modelPath)} cannot be read`, { cause: error });
    }
    const modelId = `gguf:${basename(options.modelPath)}@${(await sha256File(options.modelPath)).slice(0, 12)}`;
    let model: LlamaModel | undefined;
    try {
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      model = await llama.loadModel({ modelPath: options.modelPath });
      const contextSize = options.contextSize ?? Math.min(4096, model.trainContextSize);
      const context = await model.createEmbeddingContext({ threads, contextSize });
      return new LlamaCppEmbedder(modelId, model, context);
    } catch (error) {
      await model?.dispose().catch(() => {});
      throw new EmbedderError('unavailable', `GGUF model ${basename(options.modelPath)} could not be loaded: ${(error as Error).message}`, { cause: error });
    }
  }

  async dimensions(): Promise<number> {
    return this.#dimensions;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.#closed) throw new EmbedderError('unavailable', 'the GGUF embedder is closed');
    const vectors: Float32Array[] = [];
    for (const [i, text] of texts.entries()) {
      if (signal?.aborted) throw new EmbedderError('cancelled', 'embedding cancelled');
      if (typeof text !== 'string') throw new EmbedderError('bad-response', `text ${i} is not a string`);
      let vector: readonly number[];
      try {
        vector = (await this.#context.getEmbeddingFor(text)).vector;
      } catch (error) {
        if (/longer than the usable context size/i.test((error as Error).message)) {
          throw new EmbedderError('too-large', `text ${i} is longer than the model's context`);
        }
        throw new EmbedderError('unavailable', `the GGUF model failed on text ${i}`, { cause: error });
      }
      if (vector.length !== this.#dimensions || !vector.every(Number.isFinite)) {
        // An empty text has no tokens and so no embedding.
        throw new EmbedderError('bad-response', `the GGUF model gave no usable vector for text ${i} (${vector.length} values, ${this.#dimensions} expected)`);
      }
      vectors.push(Float32Array.from(vector));
    }
    return vectors;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#context.dispose();
    await this.#model.dispose();
  }
}
