import { useCallback, useEffect, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { useClient } from 'urql';
import { useSession } from '../../session.tsx';
import { AttachPanel } from './attach-panel.tsx';
import { DocumentTable } from './document-table.tsx';
import { DocumentView } from './document-view.tsx';
import './documents.css';
import { PROCESSING } from './format.ts';
import { KnowledgeBases } from './knowledge-bases.tsx';
import { DocumentsQuery, KnowledgeBasesQuery } from './operations.ts';
import { UploadPanel } from './upload-panel.tsx';
import { isFinished, uploads, useUploads } from './uploads.ts';
import { usePaged } from './use-paged.ts';

/** How often the list is read again while a document it shows is processed and no upload of this tab follows it live. */
const POLL_MS = 4_000;
/** Stage changes of several uploads come in bursts: one reload for a burst. */
const RELOAD_DEBOUNCE_MS = 250;

/** The documents page; with documentId (and ?chunk=) it shows that document and the cited chunk. */
export default function DocumentsPage({ documentId }: { documentId?: string }) {
  const { viewer } = useSession();
  // Uploads outlive the page (leaving it does not cut them off) but belong to one person.
  if (viewer) uploads.bindOwner(viewer.id);
  return documentId ? <DocumentView key={documentId} documentId={documentId} /> : <DocumentsHome />;
}

function DocumentsHome() {
  const { t } = useTranslation('documents');
  const client = useClient();
  const loadDocuments = useCallback(async (after: string | null) => {
    const result = await client.query(DocumentsQuery, { after }, { requestPolicy: 'network-only' }).toPromise();
    return { page: result.data?.documents ?? null, error: result.error ?? null };
  }, [client]);
  const loadBases = useCallback(async (after: string | null) => {
    const result = await client.query(KnowledgeBasesQuery, { after }, { requestPolicy: 'network-only' }).toPromise();
    return { page: result.data?.knowledgeBases ?? null, error: result.error ?? null };
  }, [client]);
  const documents = usePaged(loadDocuments);
  const bases = usePaged(loadBases);
  const { reload: reloadDocuments } = documents;
  const { reload: reloadBases } = bases;
  const reloadAll = useCallback(() => {
    reloadDocuments();
    reloadBases();
  }, [reloadDocuments, reloadBases]);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = uploads.onDocumentChanged(() => {
      clearTimeout(timer);
      timer = setTimeout(reloadAll, RELOAD_DEBOUNCE_MS);
    });
    return () => {
      clearTimeout(timer);
      stop();
    };
  }, [reloadAll]);

  const items = useUploads();
  const followed = useMemo(() => new Set(items.filter((item) => !isFinished(item) && item.documentId).map((item) => item.documentId)), [items]);
  const unfollowed = documents.items.some((document) => PROCESSING.has(document.status) && !followed.has(document.id));
  useEffect(() => {
    if (!unfollowed) return;
    const timer = setInterval(reloadDocuments, POLL_MS);
    return () => clearInterval(timer);
  }, [unfollowed, reloadDocuments]);

  return (
    <div className="page documents">
      <h1>{t('title')}</h1>
      <UploadPanel />
      <DocumentTable documents={documents} onChanged={reloadAll} />
      <div className="documents-columns">
        <KnowledgeBases bases={bases} documents={documents.items} onChanged={reloadAll} />
        <AttachPanel documents={documents.items} bases={bases.items} />
      </div>
    </div>
  );
}
