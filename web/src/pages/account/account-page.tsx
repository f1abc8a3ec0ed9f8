import { useTranslation } from 'react-i18next';

export default function AccountPage() {
  const { t } = useTranslation('account');
  return <section className="page"><h1>{t('title')}</h1></section>;
}
