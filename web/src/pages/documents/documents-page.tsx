import { useTranslation } from 'react-i18next';

/** The documents page; with documentId (and ?chunk=) it shows that document and the cited chunk. */
export default function DocumentsPage(_props: { documentId?: string }) {
  const { t } = useTranslation('documents');
  return <section className="page"><h1>{t('title')}</h1></section>;
}
