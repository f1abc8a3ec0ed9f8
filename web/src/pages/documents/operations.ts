import { graphql, type ResultOf } from '../../graphql.ts';

export const DocumentFields = graphql(`
  fragment DocumentFields on Document @_unmask {
    id name mediaType size status version indexedVersion createdAt updatedAt chunkCount pages
    failure { stage reason message }
  }
`);
export type DocumentItem = ResultOf<typeof DocumentFields>;

export const DocumentsQuery = graphql(`
  query Documents($after: String) {
    documents(first: 100, after: $after) { nodes { ...DocumentFields } endCursor hasNextPage }
  }
`, [DocumentFields]);

export const DocumentQuery = graphql(`
  query DocumentDetails($id: ID!) {
    document(id: $id) { ...DocumentFields sha256 characters ocrPages embeddingModel dimensions }
  }
`, [DocumentFields]);
export type DocumentDetails = ResultOf<typeof DocumentQuery>['document'];

export const KnowledgeBaseFields = graphql(`
  fragment KnowledgeBaseFields on KnowledgeBase @_unmask {
    id name description documentCount updatedAt documents { id name }
  }
`);
export type KnowledgeBaseItem = ResultOf<typeof KnowledgeBaseFields>;

export const KnowledgeBasesQuery = graphql(`
  query KnowledgeBases($after: String) {
    knowledgeBases(first: 100, after: $after) { nodes { ...KnowledgeBaseFields } endCursor hasNextPage }
  }
`, [KnowledgeBaseFields]);

export const AttachableConversationsQuery = graphql(`
  query AttachableConversations {
    conversations(first: 100) { edges { node { id title updatedAt documentIds knowledgeBaseIds } } }
  }
`);
export type AttachableConversation = ResultOf<typeof AttachableConversationsQuery>['conversations']['edges'][number]['node'];

export const SearchDocumentQuery = graphql(`
  query SearchDocument($query: String!, $documentIds: [ID!], $limit: Int) {
    search(query: $query, documentIds: $documentIds, limit: $limit) {
      mode
      hits { chunkId documentId documentVersion page headingPath text score }
    }
  }
`);
export type Passage = ResultOf<typeof SearchDocumentQuery>['search']['hits'][number];

export const DocumentChunkQuery = graphql(`
  query DocumentChunk($id: ID!) { documentChunk(id: $id) { id documentId documentVersion index page headingPath text } }
`);

export const DocumentChunksQuery = graphql(`
  query DocumentChunks($id: ID!, $after: String) {
    document(id: $id) { id chunks(first: 50, after: $after) { nodes { id documentVersion index page headingPath text } endCursor hasNextPage } }
  }
`);

export const RenameDocumentMutation = graphql(`
  mutation RenameDocument($id: ID!, $name: String!) { renameDocument(id: $id, name: $name) { ...DocumentFields } }
`, [DocumentFields]);

export const DeleteDocumentMutation = graphql(`mutation DeleteDocument($id: ID!) { deleteDocument(id: $id) }`);

/** Sent by XMLHttpRequest as a multipart request (for its upload progress), not through urql. */
export const UploadDocumentVersionMutation = graphql(`
  mutation UploadDocumentVersion($documentId: ID!, $file: File!) {
    uploadDocumentVersion(documentId: $documentId, file: $file) { documentId version }
  }
`);

export const CreateKnowledgeBaseMutation = graphql(`
  mutation CreateKnowledgeBase($name: String!, $description: String) {
    createKnowledgeBase(name: $name, description: $description) { ...KnowledgeBaseFields }
  }
`, [KnowledgeBaseFields]);

export const RenameKnowledgeBaseMutation = graphql(`
  mutation RenameKnowledgeBase($id: ID!, $name: String!) { renameKnowledgeBase(id: $id, name: $name) { ...KnowledgeBaseFields } }
`, [KnowledgeBaseFields]);

export const DeleteKnowledgeBaseMutation = graphql(`mutation DeleteKnowledgeBase($id: ID!) { deleteKnowledgeBase(id: $id) }`);

export const AddToKnowledgeBaseMutation = graphql(`
  mutation AddDocumentToKnowledgeBase($knowledgeBaseId: ID!, $documentId: ID!) {
    addDocumentToKnowledgeBase(knowledgeBaseId: $knowledgeBaseId, documentId: $documentId) { ...KnowledgeBaseFields }
  }
`, [KnowledgeBaseFields]);

export const RemoveFromKnowledgeBaseMutation = graphql(`
  mutation RemoveDocumentFromKnowledgeBase($knowledgeBaseId: ID!, $documentId: ID!) {
    removeDocumentFromKnowledgeBase(knowledgeBaseId: $knowledgeBaseId, documentId: $documentId) { ...KnowledgeBaseFields }
  }
`, [KnowledgeBaseFields]);

export const StartConversationMutation = graphql(`
  mutation StartConversationForKnowledge { startConversation(input: {}) { id title } }
`);

export const SetConversationKnowledgeMutation = graphql(`
  mutation SetConversationKnowledge($conversationId: ID!, $documentIds: [ID!]!, $knowledgeBaseIds: [ID!]!) {
    setConversationKnowledge(conversationId: $conversationId, documentIds: $documentIds, knowledgeBaseIds: $knowledgeBaseIds) {
      id title updatedAt documentIds knowledgeBaseIds
    }
  }
`);

export const DocumentEventsSubscription = graphql(`
  subscription DocumentEvents($documentId: ID!) {
    documentEvents(documentId: $documentId) {
      kind documentId stage version pagesDone pagesTotal chunksDone chunksTotal
      document { ...DocumentFields }
    }
  }
`, [DocumentFields]);
export type DocumentUpdate = ResultOf<typeof DocumentEventsSubscription>['documentEvents'];
