import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { ActivitySection } from './activity.tsx';
import { ApiKeysSection } from './api-keys.tsx';
import { DeleteAccountSection } from './delete-account.tsx';
import { ExportSection } from './export-data.tsx';
import { PasswordSection } from './password-form.tsx';
import { SessionsSection } from './sessions.tsx';
import './account.css';

export default function AccountPage() {
  const { t } = useTranslation('account');
  const { viewer } = useSession();
  // Bumped when the password changes: that ends every session and is itself an activity entry.
  const [version, setVersion] = useState(0);
  const changed = useCallback(() => setVersion((value) => value + 1), []);
  if (!viewer) return null;
  return (
    <div className="page account">
      <h1>{t('title')}</h1>
      <section aria-labelledby="account-profile">
        <h2 id="account-profile">{t('profile.title')}</h2>
        <dl className="profile">
          <dt>{t('profile.name')}</dt>
          <dd>{viewer.displayName ?? '–'}</dd>
          <dt>{t('profile.email')}</dt>
          <dd>{viewer.email ?? '–'}</dd>
          <dt>{t('profile.role')}</dt>
          <dd>{t(`profile.roles.${viewer.role}`)}</dd>
        </dl>
      </section>
      <PasswordSection onChanged={changed} />
      <SessionsSection version={version} />
      <ActivitySection version={version} viewerId={viewer.id} />
      <ApiKeysSection admin={viewer.role === 'admin'} />
      <ExportSection />
      <DeleteAccountSection viewer={viewer} />
    </div>
  );
}
