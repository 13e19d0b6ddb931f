import { defineConfig } from 'vite';

// The gateway serves this build from src/alltoken/console_dist (git-ignored; see docs/console.md).
export default defineConfig({
  build: {
    outDir: '../src/alltoken/console_dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,            // no data: URLs: the Content-Security-Policy allows files from 'self' only
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev` serves the console with hot reload against a gateway on :8080.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
