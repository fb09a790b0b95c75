/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Dev server on 5173 + SHOP_PORT_OFFSET; it talks to the gateway given by VITE_GATEWAY_URL
// (the gateway answers CORS for this origin). The production build is served by the gateway.
const offset = Number(process.env.SHOP_PORT_OFFSET ?? 0);

export default defineConfig({
  plugins: [react()],
  server: { port: 5173 + offset, strictPort: true, host: 'localhost' },
  build: { sourcemap: true },
  test: {
    // DOM only where a test renders components (`// @vitest-environment jsdom` atop the file)
    environment: 'node',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
