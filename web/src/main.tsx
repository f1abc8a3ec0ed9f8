import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import './i18n.ts';
import './styles.css';
import { applyTheme, initialTheme } from './theme.ts';

applyTheme(initialTheme(), false);
createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
