import { useTranslation } from 'react-i18next';
import { ConversationList } from './conversation-list.tsx';
import { Thread } from './thread.tsx';

export function ChatPage({ conversationId }: { conversationId?: string }) {
  const { t } = useTranslation('chat');
  return (
    <div className="chat">
      <ConversationList currentId={conversationId ?? null} />
      {conversationId ? <Thread key={conversationId} conversationId={conversationId} /> : (
        <section className="thread empty" aria-labelledby="chat-title">
          <h1 id="chat-title">{t('title')}</h1>
          <p className="muted">{t('pickOrStart')}</p>
        </section>
      )}
    </div>
  );
}
