import { useId, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { ModelsQuery, UpdateSettingsMutation, type ChatConversation } from './operations.ts';

const optionalNumber = (value: FormDataEntryValue | null) => (value === null || String(value).trim() === '' ? null : Number(value));

export function SettingsPanel({ conversation }: { conversation: ChatConversation }) {
  const { t } = useTranslation('chat');
  const [{ data: models, error: modelsError }] = useQuery({ query: ModelsQuery });
  const [saved, save] = useMutation(UpdateSettingsMutation);
  const ids = { model: useId(), prompt: useId(), temperature: useId(), maxTokens: useId(), topP: useId() };

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    await save({
      id: conversation.id,
      input: {
        model: String(form.get('model') ?? conversation.model),
        systemPrompt: String(form.get('systemPrompt') ?? ''),
        parameters: { temperature: optionalNumber(form.get('temperature')), maxTokens: optionalNumber(form.get('maxTokens')), topP: optionalNumber(form.get('topP')) },
      },
    });
  };
  const choices = models?.models ?? [];
  const known = choices.some((model) => model.qualifiedId === conversation.model || model.id === conversation.model);
  return (
    <form id="conversation-settings" className="settings stack" onSubmit={(event) => void submit(event)} aria-label={t('settings')}>
      <div className="field">
        <label htmlFor={ids.model}>{t('model')}</label>
        <select id={ids.model} name="model" defaultValue={conversation.model}>
          {!known && <option value={conversation.model}>{conversation.model}</option>}
          {choices.map((model) => <option key={model.qualifiedId} value={model.id === conversation.model ? model.id : model.qualifiedId}>{model.qualifiedId}</option>)}
        </select>
        <ErrorText error={modelsError} />
      </div>
      <div className="field">
        <label htmlFor={ids.prompt}>{t('systemPrompt')}</label>
        <textarea id={ids.prompt} name="systemPrompt" rows={3} maxLength={20_000} defaultValue={conversation.systemPrompt ?? ''} />
      </div>
      <div className="row">
        <div className="field">
          <label htmlFor={ids.temperature}>{t('temperature')}</label>
          <input id={ids.temperature} name="temperature" type="number" min={0} max={2} step={0.1} defaultValue={conversation.parameters.temperature ?? ''} />
        </div>
        <div className="field">
          <label htmlFor={ids.maxTokens}>{t('maxTokens')}</label>
          <input id={ids.maxTokens} name="maxTokens" type="number" min={1} max={1_000_000} step={1} defaultValue={conversation.parameters.maxTokens ?? ''} />
        </div>
        <div className="field">
          <label htmlFor={ids.topP}>{t('topP')}</label>
          <input id={ids.topP} name="topP" type="number" min={0} max={1} step={0.05} defaultValue={conversation.parameters.topP ?? ''} />
        </div>
      </div>
      <ErrorText error={saved.error} />
      {saved.data && !saved.fetching && <p role="status" className="muted">{t('saved')}</p>}
      <button type="submit" disabled={saved.fetching}>{t('saveSettings')}</button>
    </form>
  );
}
