/**
 * A tiny HTTP server on 127.0.0.1 (free port) that serves an in-memory set of files.
 * WebGPU needs a secure context, which `http://127.0.0.1` is and `about:blank`/`file:` are not.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Files to serve, keyed by URL path (e.g. `/index.html`). */
export type ServedFiles = Map<string, { body: string | Uint8Array; type: string }>;

/** A running server and its base URL. */
export interface StaticServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serve `files` (looked up at request time, so the map may be filled later). */
export async function serveFiles(files: ServedFiles): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const file = files.get(path === '/' ? '/index.html' : path);
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The HTML page that loads one ES module bundle. */
export function modulePage(script = '/entry.js', title = 'webgpu-contrastive'): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><script type="module" src="${script}"></script></body></html>`;
}
