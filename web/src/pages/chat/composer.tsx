import { useId, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { SendMessageMutation, type ChatMessage } from './operations.ts';

const MAX_MESSAGE_LENGTH = 100_000;

export function Composer({ conversationId, busy, onSent }: { conversationId: string; busy: boolean; onSent(message: ChatMessage): void }) {
  const { t } = useTranslation('chat');
  const [text, setText] = useState('');
  const [sent, send] = useMutation(SendMessageMutation);
  const id = useId();

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    const content = text.trim();
    if (!content || busy || sent.fetching) return;
    const result = await send({ conversationId, content });
    if (result.data) {
      setText('');
      onSent(result.data.sendMessage);
    }
  };
  // Enter sends, Shift+Enter starts a new line (as in every chat app).
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  };
  return (
    <form className="composer" onSubmit={(event) => void submit(event)}>
      <label htmlFor={id} className="visually-hidden">{t('message')}</label>
      <textarea id={id} value={text} rows={3} maxLength={MAX_MESSAGE_LENGTH} placeholder={t('messagePlaceholder')}
        onChange={(event) => setText(event.target.value)} onKeyDown={onKeyDown} />
      <button type="submit" disabled={busy || sent.fetching || text.trim().length === 0}>{t('send')}</button>
      <ErrorText error={sent.error} />
    </form>
  );
}
