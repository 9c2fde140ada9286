import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BasicAuth } from '../auth.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import type { Reply, Router } from '../router.js';

export interface DashboardDeps {
  /** The API's credential check; null when no users are configured. */
  auth: BasicAuth | null;
}

/**
 * The static files live in `dashboard/` at the package root, outside src/, because tsc copies no
 * assets: this module sits three levels below the root both as src/http/dashboard/index.ts (vitest,
 * tsx) and as dist/http/dashboard/index.js (`railyard start`), so one relative URL serves both.
 */
const ROOT = fileURLToPath(new URL('../../../dashboard/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/** uPlot is served from its npm package rather than vendored, so upgrades are a version bump. */
const VENDOR: Readonly<Record<string, string>> = {
  'uPlot.esm.js': 'uplot/dist/uPlot.esm.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

/** Only plain names: a `..` or a dotfile can never be a segment, whatever the percent-encoding. */
const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/**
 * The page and its assets answer without credentials (the page carries no data, and it must load to
 * show its login form); everything under /api still requires them.
 */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/dashboard/');
}

async function fileReply(file: string): Promise<Reply> {
  const type = TYPES[extname(file)];
  if (!type) throw notFound('no such dashboard file');
  let data: string;
  try {
    data = await readFile(file, 'utf8');
  } catch {
    throw notFound('no such dashboard file');
  }
  return { status: 200, text: { contentType: type, data } };
}

function credentialsFrom(body: unknown): { user: string; password: string } {
  if (typeof body !== 'object' || body === null) throw badRequest('body', 'a JSON object with user and password');
  const { user, password } = body as Record<string, unknown>;
  if (typeof user !== 'string' || user === '') throw badRequest('user', 'a non-empty string');
  if (typeof password !== 'string') throw badRequest('password', 'a string');
  return { user, password };
}

/** `GET /` (the page), `/dashboard/...` (its ES modules, CSS, uPlot) and the login check. */
export function addDashboardRoutes(router: Router, deps: DashboardDeps): void {
  const require = createRequire(import.meta.url);
  const index = (): Promise<Reply> => fileReply(ROOT + 'index.html');
  router.add('GET', '/', index);
  router.add('GET', '/index.html', index);

  router.add('GET', '/dashboard/auth', () => ({ status: 200, body: { authRequired: deps.auth !== null } }));
  // Checked here instead of by calling the API with the credentials: a 401 from the API carries
  // WWW-Authenticate, which would make the browser open its own password prompt over the page.
  router.add('POST', '/dashboard/auth', async (req) => {
    const { user, password } = credentialsFrom(await req.json());
    if (deps.auth === null) return { status: 200, body: { authRequired: false } };
    const header = 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
    if (!deps.auth(header)) throw new HttpError(401, 'unauthorized', 'unknown user or wrong password');
    return { status: 200, body: { authRequired: true, user } };
  });

  router.add('GET', '/dashboard/vendor/:file', (req) => {
    const spec = VENDOR[req.params.file!];
    if (!spec) throw notFound('no such dashboard file');
    return fileReply(require.resolve(spec));
  });

  const serve = (req: { params: Readonly<Record<string, string>> }): Promise<Reply> => {
    const parts = Object.values(req.params);
    if (!parts.every((p) => SAFE_SEGMENT.test(p))) throw notFound('no such dashboard file');
    return fileReply(ROOT + parts.join(sep));
  };
  router.add('GET', '/dashboard/:a', serve);
  router.add('GET', '/dashboard/:a/:b', serve);
  router.add('GET', '/dashboard/:a/:b/:c', serve);
}
