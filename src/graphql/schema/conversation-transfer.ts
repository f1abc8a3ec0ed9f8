import { importConversations } from '../../commands/conversation-import.ts';
import type { ImportFormat } from '../../domain/conversation/conversation.ts';
import { MAX_IMPORT_BYTES } from '../../domain/conversation/import-formats.ts';
import { checkId } from '../../domain/identifiers.ts';
import { conversationExport, conversationsExport } from '../../projections/conversation-export.ts';
import { conversationMarkdown, conversationPdf } from '../../projections/conversation-export-render.ts';
import { ownedConversation, type ConversationRow } from '../../projections/conversations-queries.ts';
import { builder } from '../builder.ts';
import { clientError } from '../errors.ts';
import { settle } from '../settle.ts';
import { requireViewer } from './accounts.ts';
import { Conversation } from './conversations.ts';

/**
 * Export and import of conversations (docs/sharing.md). Exports are fields returning the file's
 * content (text, or base64 for the PDF): the same authentication, limits and errors as the rest of
 * the API, and nothing to leak through a URL. Import takes the export file of another application as
 * a multipart upload (File), since such files are often larger than the 1 MiB JSON request limit.
 */

interface ExportFileValue { filename: string; mediaType: string; encoding: 'UTF8' | 'BASE64'; content: string; byteSize: number }

const ExportEncoding = builder.enumType('ExportEncoding', {
  values: { UTF8: { description: 'content is the text itself' }, BASE64: { description: 'content is the bytes in base64' } } as const,
});

const ExportFile = builder.objectRef<ExportFileValue>('ExportFile').implement({
  description: 'A file to save: its suggested name, media type and content',
  fields: (t) => ({
    filename: t.exposeString('filename'),
    mediaType: t.exposeString('mediaType'),
    encoding: t.field({ type: ExportEncoding, resolve: (f) => f.encoding }),
    content: t.exposeString('content'),
    byteSize: t.exposeInt('byteSize', { description: 'Size of the file in bytes (after decoding base64)' }),
  }),
});

const ConversationExportFormat = builder.enumType('ConversationExportFormat', {
  values: {
    MARKDOWN: { description: 'text/markdown' },
    JSON: { description: 'application/json, format evident-conversation/1' },
    PDF: { description: 'application/pdf (base64); characters its standard font cannot show appear as "?"' },
  } as const,
});

const ConversationImportFormat = builder.enumType('ConversationImportFormat', {
  values: {
    CHATGPT: { value: 'chatgpt', description: "ChatGPT's conversations.json (Settings → Data controls → Export data)" },
    OPEN_WEBUI: { value: 'open-webui', description: "Open WebUI's chat export (one chat or a list of them)" },
  } as const,
});

const textFile = (filename: string, mediaType: string, content: string): ExportFileValue =>
  ({ filename, mediaType, encoding: 'UTF8', content, byteSize: Buffer.byteLength(content, 'utf8') });

interface ImportResultValue { conversations: ConversationRow[]; skippedCount: number }

const ConversationImportResult = builder.objectRef<ImportResultValue>('ConversationImportResult').implement({
  fields: (t) => ({
    conversations: t.field({ type: [Conversation], description: 'The new conversations, in the order of the file', resolve: (r) => r.conversations }),
    importedCount: t.int({ resolve: (r) => r.conversations.length }),
    skippedCount: t.exposeInt('skippedCount', { description: 'Conversations of the file without user or assistant text, left out' }),
  }),
});

builder.queryFields((t) => ({
  exportConversation: t.field({
    type: ExportFile,
    description: 'One of your conversations as a file, with its attached knowledge and the sources each reply cited',
    authScopes: { authenticated: true },
    args: { id: t.arg.id(), format: t.arg({ type: ConversationExportFormat }) },
    resolve: async (_root, args, context): Promise<ExportFileValue> => {
      const viewer = requireViewer(context);
      const id = checkId(String(args.id), 'Conversation id');
      const exp = await conversationExport(context.services.readDb, viewer.userId, id, new Date());
      if (!exp) throw clientError('NOT_FOUND', 'Conversation not found');
      const base = `conversation-${id}`;
      if (args.format === 'MARKDOWN') return textFile(`${base}.md`, 'text/markdown; charset=utf-8', conversationMarkdown(exp));
      if (args.format === 'JSON') return textFile(`${base}.json`, 'application/json', `${JSON.stringify(exp, null, 2)}\n`);
      const bytes = await conversationPdf(exp);
      return { filename: `${base}.pdf`, mediaType: 'application/pdf', encoding: 'BASE64', content: Buffer.from(bytes).toString('base64'), byteSize: bytes.byteLength };
    },
  }),
  exportConversations: t.field({
    type: ExportFile,
    description: 'All your conversations (archived ones too) as one JSON file, format evident-conversations/1',
    authScopes: { authenticated: true },
    resolve: async (_root, _args, context) => {
      const viewer = requireViewer(context);
      const exp = await conversationsExport(context.services.readDb, viewer.userId, new Date());
      return textFile('conversations.json', 'application/json', `${JSON.stringify(exp, null, 2)}\n`);
    },
  }),
}));

builder.mutationFields((t) => ({
  importConversations: t.field({
    type: ConversationImportResult,
    description: `Imports the conversations of another application's export file (a multipart upload of at most ${MAX_IMPORT_BYTES} bytes) `
      + 'as new conversations of yours: the main path of each (the branch last shown), user and assistant text with its times and models. '
      + 'A malformed file imports nothing (BAD_USER_INPUT).',
    authScopes: { authenticated: true },
    args: { format: t.arg({ type: ConversationImportFormat }), file: t.arg({ type: 'File' }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const file = args.file as File;
      if (file.size > MAX_IMPORT_BYTES) {
        throw clientError('BAD_USER_INPUT', `The file exceeds the import limit of ${MAX_IMPORT_BYTES} bytes`, { maxBytes: MAX_IMPORT_BYTES });
      }
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(await file.arrayBuffer());
      } catch {
        throw clientError('BAD_USER_INPUT', 'The file is not UTF-8 text');
      }
      const result = await importConversations(
        { store: context.services.store, defaultModel: context.services.config.defaultModel },
        { ownerId: viewer.userId, format: args.format as ImportFormat, text },
        context.services.commandContext(viewer.userId, context.requestId),
      );
      await settle(context, { position: result.position, events: [{ type: 'ConversationImported' }, { type: 'ConversationMessageImported' }] });
      const at = new Date().toISOString();
      const rows = await Promise.all(result.conversations.map(async ({ conversationId, state }) =>
        await ownedConversation(context.services.readDb, viewer.userId, conversationId)
        // Not shown yet (the response is flagged pending): as the write side knows it.
        ?? {
          conversation_id: conversationId, owner_id: viewer.userId, title: state.title, model: state.model ?? '', system_prompt: null, params: {},
          archived: false, message_count: state.history.length, knowledge_base_ids: [], document_ids: [], created_at: at, updated_at: at,
        } satisfies ConversationRow));
      return { conversations: rows, skippedCount: result.skipped };
    },
  }),
}));
