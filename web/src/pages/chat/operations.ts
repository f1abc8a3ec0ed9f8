import { graphql, type ResultOf } from '../../graphql.ts';

export const MessageFields = graphql(`
  fragment MessageFields on Message @_unmask {
    id role status content createdAt completedAt model errorCode errorMessage finishReason
    latencyMs timeToFirstTokenMs usage { promptTokens completionTokens totalTokens }
    parameters { temperature maxTokens topP }
    sources { n chunkId documentId documentVersion page score }
  }
`);
export type ChatMessage = ResultOf<typeof MessageFields>;

export const ConversationFields = graphql(`
  fragment ConversationFields on Conversation @_unmask {
    id title archived pinned model provider systemPrompt updatedAt createdAt messageCount
    parameters { temperature maxTokens topP }
    documentIds knowledgeBaseIds
  }
`);
export type ChatConversation = ResultOf<typeof ConversationFields>;

export const ConversationsQuery = graphql(`
  query Conversations($archived: Boolean, $after: String) {
    conversations(archived: $archived, first: 100, after: $after) {
      edges { node { ...ConversationFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`, [ConversationFields]);

export const SearchConversationsQuery = graphql(`
  query SearchConversations($query: String!, $archived: Boolean) {
    searchConversations(query: $query, archived: $archived, first: 50) {
      edges { node { titleMatched conversation { ...ConversationFields } } }
    }
  }
`, [ConversationFields]);

export const ConversationQuery = graphql(`
  query Conversation($id: ID!, $before: String) {
    conversation(id: $id) {
      ...ConversationFields
      messages(last: 50, before: $before) {
        edges { node { ...MessageFields } }
        pageInfo { hasPreviousPage startCursor }
      }
    }
  }
`, [ConversationFields, MessageFields]);

export const ModelsQuery = graphql(`query Models { models { id qualifiedId provider } }`);

export const StartConversationMutation = graphql(`
  mutation StartConversation($input: StartConversationInput) { startConversation(input: $input) { ...ConversationFields } }
`, [ConversationFields]);

export const RenameConversationMutation = graphql(`
  mutation RenameConversation($id: ID!, $title: String!) { renameConversation(id: $id, title: $title) { id title updatedAt } }
`);
export const ArchiveConversationMutation = graphql(`
  mutation ArchiveConversation($id: ID!) { archiveConversation(id: $id) { id archived } }
`);
export const UnarchiveConversationMutation = graphql(`
  mutation UnarchiveConversation($id: ID!) { unarchiveConversation(id: $id) { id archived } }
`);
export const DeleteConversationMutation = graphql(`mutation DeleteConversation($id: ID!) { deleteConversation(id: $id) }`);

export const SendMessageMutation = graphql(`
  mutation SendMessage($conversationId: ID!, $content: String!) {
    sendMessage(conversationId: $conversationId, content: $content) { ...MessageFields }
  }
`, [MessageFields]);

export const CancelReplyMutation = graphql(`
  mutation CancelReply($conversationId: ID!, $replyId: ID!) {
    cancelReply(conversationId: $conversationId, replyId: $replyId) { ...MessageFields }
  }
`, [MessageFields]);

export const UpdateSettingsMutation = graphql(`
  mutation UpdateConversationSettings($id: ID!, $input: ConversationSettingsInput!) {
    updateConversationSettings(id: $id, input: $input) { ...ConversationFields }
  }
`, [ConversationFields]);

export const ConversationEventsSubscription = graphql(`
  subscription ConversationEvents($conversationId: ID!, $after: String) {
    conversationEvents(conversationId: $conversationId, after: $after) {
      kind cursor messageId replyId delta offset errorCode errorMessage
      message { ...MessageFields }
    }
  }
`, [MessageFields]);
export type ConversationEvent = ResultOf<typeof ConversationEventsSubscription>['conversationEvents'];
