import { defineConfig } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'

const NAME = 'ao-tab: an AO-Core node in your browser tab'

// The core's errors are matched by class name (`e.name`, set from `new.target.name`):
// minification must not rename classes.
const output = { keepNames: true }

export default defineConfig({
  build: { target: 'es2022', rolldownOptions: { output } },
  worker: { format: 'es', rolldownOptions: { output } },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
  plugins: [
    VitePWA({
      // Our own service worker (src/app/sw.ts): app-shell precache + HyperPATH ingress to the node's page.
      strategies: 'injectManifest',
      srcDir: 'src/app',
      filename: 'sw.ts',
      registerType: 'autoUpdate',
      injectRegister: false, // src/app/main.ts registers it and shows the state
      includeAssets: ['icon.svg'],
      manifest: {
        name: NAME,
        short_name: 'ao-tab',
        description: 'An AO-Core node that runs in a browser tab, HyperBEAM-compatible; it answers this site\'s requests, offline too.',
        start_url: '.',
        scope: '.',
        display: 'standalone',
        background_color: '#11151d',
        theme_color: '#16213a',
        icons: [{ src: 'icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
      },
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,wasm}'],
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
      },
    }),
  ],
})
