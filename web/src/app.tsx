import { lazy, Suspense, useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Provider } from 'urql';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { createGraphQLClient } from './client.ts';
import { LANGUAGES, setLanguage, type Language } from './i18n.ts';
import { AuthPage } from './pages/auth.tsx';
import { ChatPage } from './pages/chat/chat-page.tsx';
import { SessionProvider, useSession } from './session.tsx';
import { applyTheme, initialTheme, type Theme } from './theme.ts';

// Pages most visits never open load on demand: the first load stays small.
const DocumentsPage = lazy(() => import('./pages/documents/documents-page.tsx'));
const AccountPage = lazy(() => import('./pages/account/account-page.tsx'));
const AdminPage = lazy(() => import('./pages/admin/admin-page.tsx'));

export function App() {
  // A new client on sign-out: nothing the last person saw stays in the cache.
  const [{ client, generation }, setState] = useState(() => ({ client: makeClient(0), generation: 0 }));
  // A session that ended while signed in (expired, revoked, ended elsewhere): start over once with an
  // empty cache, which asks `me` again and so shows the sign-in form.
  function makeClient(at: number) {
    return createGraphQLClient(() => setState((state) => (state.generation === at ? { client: makeClient(at + 1), generation: at + 1 } : state)));
  }
  const reset = useCallback(() => setState((state) => ({ client: makeClient(state.generation + 1), generation: state.generation + 1 })), []);
  return (
    <Provider value={client}>
      <SessionProvider key={generation} onSignedOut={reset}>
        <Shell />
      </SessionProvider>
    </Provider>
  );
}

function Preferences() {
  const { t, i18n } = useTranslation();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const toggle = () => {
    const next = theme === 'dark' ? 'light' : 'dark';
    applyTheme(next);
    setTheme(next);
  };
  return (
    <div className="preferences">
      <label className="visually-hidden" htmlFor="language">{t('language')}</label>
      <select id="language" value={i18n.language} onChange={(event) => setLanguage(event.target.value as Language)}>
        {LANGUAGES.map((language) => <option key={language} value={language}>{t(`languages.${language}`)}</option>)}
      </select>
      <button type="button" className="ghost" onClick={toggle} aria-pressed={theme === 'dark'}>
        {theme === 'dark' ? t('theme.light') : t('theme.dark')}
      </button>
    </div>
  );
}

function Nav() {
  const { t } = useTranslation();
  const { viewer, signOut } = useSession();
  const [location] = useLocation();
  const links = [['/', t('nav.chat')], ['/documents', t('nav.documents')], ['/account', t('nav.account')]];
  if (viewer?.role === 'admin') links.push(['/admin', t('nav.admin')]);
  const current = (href: string) => (href === '/' ? location === '/' || location.startsWith('/c/') : location.startsWith(href));
  return (
    <nav aria-label={t('nav.label')} className="nav">
      <ul>
        {links.map(([href, label]) => (
          <li key={href}><Link href={href!} aria-current={current(href!) ? 'page' : undefined}>{label}</Link></li>
        ))}
      </ul>
      <button type="button" className="ghost" onClick={() => void signOut()}>{t('nav.signOut')}</button>
    </nav>
  );
}

function Shell() {
  const { t } = useTranslation();
  const { viewer, loading } = useSession();
  return (
    <>
      <a className="skip-link" href="#main">{t('skipToContent')}</a>
      <header className="topbar">
        <Link href="/" className="brand">Evident</Link>
        {viewer && <Nav />}
        <Preferences />
      </header>
      <main id="main" tabIndex={-1}>
        {loading ? <p className="muted" role="status">{t('loading')}</p> : viewer ? (
          <Suspense fallback={<p className="muted" role="status">{t('loading')}</p>}>
            <Switch>
              <Route path="/"><ChatPage /></Route>
              <Route path="/c/:id">{(params) => <ChatPage conversationId={params.id} />}</Route>
              <Route path="/documents"><DocumentsPage /></Route>
              <Route path="/documents/:id">{(params) => <DocumentsPage documentId={params.id} />}</Route>
              <Route path="/account"><AccountPage /></Route>
              <Route path="/admin">{viewer.role === 'admin' ? <AdminPage /> : <Redirect to="/" />}</Route>
              <Route path="/sign-in"><Redirect to="/" /></Route>
              <Route><NotFound /></Route>
            </Switch>
          </Suspense>
        ) : <AuthPage />}
      </main>
    </>
  );
}

function NotFound() {
  const { t } = useTranslation();
  return <section className="page"><h1>{t('notFound.title')}</h1><p><Link href="/">{t('notFound.back')}</Link></p></section>;
}
