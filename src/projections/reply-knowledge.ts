import type { SourceCandidate } from '../domain/conversation/sources-prompt.ts';

/** One retrieved chunk: which chunk of which document version, where it is, its text and its rank score. */
export type KnowledgeHit = SourceCandidate;

export interface KnowledgeQuery {
  /** Only this person's documents may be searched. */
  ownerId: string;
  /** The conversation's attached knowledge: every document of these bases, plus these documents. */
  knowledgeBaseIds: readonly string[];
  documentIds: readonly string[];
  /** The newest user message. */
  question: string;
  limit: number;
  /** Aborted when the reply is cancelled, the reactor stops, or retrieval took too long. */
  signal?: AbortSignal;
}

/**
 * What the reply reactor retrieves sources through (the retrieval query implements it). Hits come
 * best first; deleted documents and documents not selected must not be among them.
 */
export interface ReplyKnowledge {
  retrieve(query: KnowledgeQuery): Promise<KnowledgeHit[]>;
}
