-- Which vector spaces (embedding model, dimensions) hold the vectors of each document's indexed
-- version (src/projections/documents-projection.ts). documents.embedding_model says which model a
-- document serves; this says every space it can be found in, so that during an embedding-model
-- change retrieval can tell whether the previous model's space still covers every document
-- (docs/vector-index.md, "A model change"). Rows follow the vector index: a newer indexed version
-- replaces them, a deleted document or an erased owner removes them.
CREATE TABLE document_vector_spaces (
  document_id text COLLATE "C" NOT NULL,
  owner_id text COLLATE "C" NOT NULL,
  version int NOT NULL,
  embedding_model text NOT NULL,
  dimensions int NOT NULL,
  PRIMARY KEY (document_id, embedding_model, dimensions)
);
CREATE INDEX document_vector_spaces_owner ON document_vector_spaces (owner_id);

-- What is known already: the space each indexed document serves.
INSERT INTO document_vector_spaces (document_id, owner_id, version, embedding_model, dimensions)
SELECT document_id, owner_id, indexed_version, embedding_model, dimensions FROM documents
WHERE indexed_version IS NOT NULL AND embedding_model IS NOT NULL AND dimensions IS NOT NULL;
