/** Builds the web page (web/) into dist/web, which `smooth-reduce serve` serves at /. */
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  base: './',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    // onnxruntime-web's WebAssembly runtime is one large file by nature
    chunkSizeWarningLimit: 20_000,
  },
});
