// Vite builds the dashboard into dist/, which citytwin embeds with the
// build tag ui (web/ui_embed.go). `npm run dev` serves it with hot reload
// and proxies the APIs and the WebSocket to a running citytwin
// (CITYTWIN_URL, default http://127.0.0.1:8080).
import { defineConfig } from 'vite';

const backend = process.env.CITYTWIN_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  // Relative URLs everywhere, so that the app also works behind a reverse
  // proxy under a path prefix.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    // MapLibre GL alone is about 1 MB minified (~280 kB gzipped).
    chunkSizeWarningLimit: 1600,
  },
  server: {
    proxy: {
      '/api': backend,
      '/ngsi-ld': backend,
      '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
    },
  },
});
