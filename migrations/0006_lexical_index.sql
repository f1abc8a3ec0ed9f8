-- Lexical (BM25) index of document chunks (src/infra/retrieval/lexical/lexical-index.ts).
-- Only what ranking needs: the chunk text lives in the chunks read model. Statistics are per owner,
-- so one person's ranking never depends on another person's documents.
CREATE TABLE lexical_chunks (
  chunk_id text COLLATE "C" PRIMARY KEY,
  owner_id text COLLATE "C" NOT NULL,
  document_id text COLLATE "C" NOT NULL,
  version int NOT NULL,
  -- Number of index terms in the chunk (BM25's document length).
  length int NOT NULL
);
-- Removing a document, a version or an owner; filtering a search by document.
CREATE INDEX lexical_chunks_owner_document ON lexical_chunks (owner_id, document_id, version);

CREATE TABLE lexical_postings (
  owner_id text COLLATE "C" NOT NULL,
  term text COLLATE "C" NOT NULL,
  chunk_id text COLLATE "C" NOT NULL,
  tf int NOT NULL,
  -- The chunk's length again, so scoring reads postings alone.
  length int NOT NULL,
  PRIMARY KEY (owner_id, term, chunk_id)
);
-- Removing a chunk's postings.
CREATE INDEX lexical_postings_chunk ON lexical_postings (chunk_id);

-- BM25's N and total length (for avgdl) per owner; the row goes when the owner's last chunk goes.
CREATE TABLE lexical_owner_stats (
  owner_id text COLLATE "C" PRIMARY KEY,
  chunk_count bigint NOT NULL,
  total_length bigint NOT NULL
);
