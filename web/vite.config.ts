import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.EVIDENT_URL ?? 'http://127.0.0.1:4000';

// `npm run build:web` writes dist/, which the server serves at `/` (src/graphql/web-app.ts).
// `npx vite web` serves the sources with the API of a running server behind the same origin.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline module-preload polyfill: the Content-Security-Policy allows no inline script.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 800,
  },
  server: { proxy: { '/graphql': api, '/session': api, '/uploads': api } },
});
