-- Document read models (src/projections/documents-projection.ts, document-chunks-projection.ts).
-- A deleted document's rows are removed, so nothing of it is left to serve or to leak.
CREATE TABLE documents (
  document_id text COLLATE "C" PRIMARY KEY,
  owner_id text COLLATE "C" NOT NULL,
  -- Personal: null once the owner is erased.
  name text,
  media_type text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  current_version int NOT NULL,
  -- Ingestion of the current version: uploaded | extracting | extracted | chunked | indexed | failed.
  status text NOT NULL,
  pages int,
  characters bigint,
  ocr_pages int,
  chunk_count int,
  failure_stage text,
  failure_reason text,
  -- Personal (parsers quote file content): null once the owner is erased.
  failure_message text,
  -- The version whose chunks serve retrieval, and how it was embedded (null model: lexical only).
  indexed_version int,
  embedding_model text,
  dimensions int,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- Position of DocumentUploaded: the keyset of listings.
  created_seq bigint NOT NULL
);
CREATE INDEX documents_owner_seq ON documents (owner_id, created_seq);

CREATE TABLE knowledge_bases (
  knowledge_base_id text COLLATE "C" PRIMARY KEY,
  owner_id text COLLATE "C" NOT NULL,
  name text,
  description text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  created_seq bigint NOT NULL
);
CREATE INDEX knowledge_bases_owner_seq ON knowledge_bases (owner_id, created_seq);

CREATE TABLE knowledge_base_documents (
  knowledge_base_id text COLLATE "C" NOT NULL,
  document_id text COLLATE "C" NOT NULL,
  owner_id text COLLATE "C" NOT NULL,
  added_seq bigint NOT NULL,
  PRIMARY KEY (knowledge_base_id, document_id)
);
CREATE INDEX knowledge_base_documents_document ON knowledge_base_documents (document_id);
CREATE INDEX knowledge_base_documents_owner ON knowledge_base_documents (owner_id);

-- Chunk texts of every version still kept (the indexed one, and a newer one on its way).
CREATE TABLE document_chunks (
  chunk_id text COLLATE "C" PRIMARY KEY,
  owner_id text COLLATE "C" NOT NULL,
  document_id text COLLATE "C" NOT NULL,
  version int NOT NULL,
  chunk_index int NOT NULL,
  text text NOT NULL,
  page int,
  heading_path jsonb NOT NULL
);
CREATE INDEX document_chunks_document ON document_chunks (document_id, version, chunk_index);
CREATE INDEX document_chunks_owner ON document_chunks (owner_id);
