/** Shared shapes of retrieval: the lexical index, the vector indexes and their fusion. */

/** One chunk of one version of a document, as the indexes store it. */
export interface IndexedChunk {
  chunkId: string;
  documentId: string;
  /** Document version (1, 2, …) the chunk was cut from. */
  version: number;
  ownerId: string;
  /** Position of the chunk in its document version, from 0. */
  index: number;
  text: string;
  /** 1-based page number where the chunk starts, when the format has pages. */
  page: number | null;
  /** Headings enclosing the chunk, outermost first. */
  headingPath: readonly string[];
}

/** Which chunks a query may see: always one owner; optionally only some documents. */
export interface RetrievalFilter {
  ownerId: string;
  /** When given, only chunks of these documents (an empty list matches nothing). */
  documentIds?: readonly string[];
}

/** A ranked hit: rank is 1-based within its list; score's scale depends on the ranker. */
export interface RankedChunk {
  chunkId: string;
  documentId: string;
  version: number;
  score: number;
  rank: number;
}
