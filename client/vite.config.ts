import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API paths to the gateway (default) or to API_URL, so the
// client always talks same-origin, as it does in production.
const target = process.env.API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/graphql': { target, ws: true, changeOrigin: false },
      '/sale': { target, ws: true, changeOrigin: false },
      // Seat layouts only: other /events/... paths are the client's own pages.
      '^/events/[^/]+/layout': { target, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
