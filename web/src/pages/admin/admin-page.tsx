import { useRef, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useLocation, useSearch } from 'wouter';
import './admin.css';
import { AuditTab } from './audit-tab.tsx';
import { ProjectionsTab } from './projections-tab.tsx';
import { SignupTab } from './signup-tab.tsx';
import { UsersTab } from './users-tab.tsx';

const TABS = ['users', 'projections', 'audit', 'signup'] as const;
type Tab = (typeof TABS)[number];

/** The admin area: users, projections, the audit log with its live feed, and sign-up; the tab is in the address (?tab=). */
export default function AdminPage() {
  const { t } = useTranslation('admin');
  const search = useSearch();
  const [, navigate] = useLocation();
  const requested = new URLSearchParams(search).get('tab');
  const tab: Tab = TABS.includes(requested as Tab) ? requested as Tab : 'users';
  const buttons = useRef(new Map<Tab, HTMLButtonElement>());

  const select = (next: Tab, focus = false) => {
    navigate(next === 'users' ? '/admin' : `/admin?tab=${next}`, { replace: true });
    if (focus) buttons.current.get(next)?.focus();
  };
  // The tabs pattern: arrows move between tabs (and select them), Home and End go to the ends.
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = TABS.indexOf(tab);
    const next = event.key === 'ArrowRight' ? TABS[(index + 1) % TABS.length]
      : event.key === 'ArrowLeft' ? TABS[(index - 1 + TABS.length) % TABS.length]
        : event.key === 'Home' ? TABS[0] : event.key === 'End' ? TABS[TABS.length - 1] : undefined;
    if (!next) return;
    event.preventDefault();
    select(next, true);
  };

  return (
    <section className="page admin" aria-labelledby="admin-title">
      <h1 id="admin-title">{t('title')}</h1>
      <div role="tablist" aria-label={t('sections')} className="admin-tabs" onKeyDown={onKeyDown}>
        {TABS.map((name) => (
          <button key={name} type="button" role="tab" id={`admin-tab-${name}`} aria-controls={`admin-panel-${name}`}
            aria-selected={tab === name} tabIndex={tab === name ? 0 : -1} className="admin-tab"
            ref={(element) => { if (element) buttons.current.set(name, element); else buttons.current.delete(name); }}
            onClick={() => select(name)}>
            {t(`tabs.${name}`)}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`admin-panel-${tab}`} aria-labelledby={`admin-tab-${tab}`} className="admin-panel">
        {tab === 'users' && <UsersTab />}
        {tab === 'projections' && <ProjectionsTab />}
        {tab === 'audit' && <AuditTab />}
        {tab === 'signup' && <SignupTab />}
      </div>
    </section>
  );
}
