import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useClient, type CombinedError } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { ExportMyDataQuery } from './operations.ts';

/** Hands a JSON document to the browser as a file download (a blob: link; nothing leaves the page). */
function download(data: unknown, filename: string): void {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the click; the object URL can go once this task is over.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function ExportSection() {
  const { t } = useTranslation('account');
  const client = useClient();
  const [fetching, setFetching] = useState(false);
  const [error, setError] = useState<CombinedError | null>(null);
  const [done, setDone] = useState(false);

  const run = async () => {
    setFetching(true);
    setDone(false);
    setError(null);
    const result = await client.query(ExportMyDataQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    setFetching(false);
    if (result.error || result.data === undefined) return setError(result.error ?? null);
    download(result.data.exportMyData, `evident-my-data-${new Date().toISOString().slice(0, 10)}.json`);
    setDone(true);
  };

  return (
    <section aria-labelledby="account-export">
      <h2 id="account-export">{t('export.title')}</h2>
      <p className="muted">{t('export.intro')}</p>
      <ErrorText error={error} />
      <p role="status" className="success">{fetching ? t('export.preparing') : done ? t('export.done') : ''}</p>
      <div><button type="button" onClick={() => void run()} disabled={fetching}>{t('export.download')}</button></div>
    </section>
  );
}
