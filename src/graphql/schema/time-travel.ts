import { checkId } from '../../domain/identifiers.ts';
import { conversationAsOf } from '../../projections/conversation-as-of.ts';
import { documentAsOf } from '../../projections/document-as-of.ts';
import type { DocumentRow } from '../../projections/documents-queries.ts';
import type { ConversationRow } from '../../projections/conversations-queries.ts';
import type { GraphQLContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { requireViewer } from './accounts.ts';

/**
 * An `asOf` argument: a moment not after now (the log cannot know the future; BAD_USER_INPUT).
 * The DateTime scalar has already refused what is not an ISO-8601 time.
 */
export function parseAsOf(raw: string, now = new Date()): Date {
  const asOf = new Date(raw);
  if (Number.isNaN(asOf.getTime())) throw clientError('BAD_USER_INPUT', 'asOf must be an ISO-8601 date and time');
  if (asOf.getTime() > now.getTime()) throw clientError('BAD_USER_INPUT', 'asOf is in the future: the log only knows what has happened');
  return asOf;
}

/**
 * The viewer's conversation as it was at `asOf`, or NOT_FOUND — also when it did not exist yet, was
 * deleted by then, or is someone else's (existence is not revealed).
 */
export async function ownConversationAsOf(context: GraphQLContext, conversationId: string, rawAsOf: string): Promise<ConversationRow> {
  const viewer = requireViewer(context);
  const asOf = parseAsOf(rawAsOf);
  const folded = await conversationAsOf(context.services.store, checkId(conversationId, 'Conversation id'), asOf);
  if (!folded || folded.conversation.owner_id !== viewer.userId) throw clientError('NOT_FOUND', 'Conversation not found');
  return folded.conversation;
}

/** The viewer's document as it was at `asOf`, or NOT_FOUND (the same rules as for conversations). */
export async function ownDocumentAsOf(context: GraphQLContext, documentId: string, rawAsOf: string): Promise<DocumentRow> {
  const viewer = requireViewer(context);
  const asOf = parseAsOf(rawAsOf);
  const document = await documentAsOf(context.services.store, checkId(documentId, 'Document id'), asOf);
  if (!document || document.owner_id !== viewer.userId) throw clientError('NOT_FOUND', 'Document not found');
  return document;
}
