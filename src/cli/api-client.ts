import { CliError, ExitCode } from './errors.js';

export const DEFAULT_HTTP_URL = 'http://localhost:8080';

interface ErrorBody {
  error?: string;
  message?: string;
}

/**
 * Talks JSON to a running broker's management API. Credentials come from the URL
 * (`http://user:pass@host:port`), because fetch refuses URLs that carry them.
 */
export class ApiClient {
  private readonly base: string;
  private readonly authorization?: string;

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CliError(`--http: not a URL: ${JSON.stringify(url)}`, ExitCode.USAGE);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError(`--http: must be an http(s) URL, got ${url}`, ExitCode.USAGE);
    if (parsed.username !== '' || parsed.password !== '') {
      const user = decodeURIComponent(parsed.username);
      const pass = decodeURIComponent(parsed.password);
      this.authorization = 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
      parsed.username = '';
      parsed.password = '';
    }
    this.base = parsed.toString().replace(/\/+$/, '');
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.authorization) headers.authorization = this.authorization;
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach the broker at ${this.base} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running? (--http URL or RAILYARD_HTTP)`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new CliError(`${method} ${path}: the broker answered ${res.status} with a body that is not JSON`);
    }
    if (res.ok) return parsed as T;
    const e = parsed as ErrorBody;
    const message = e.message ?? `${method} ${path} failed with HTTP ${res.status}`;
    if (res.status === 404) throw new CliError(message, ExitCode.NOT_FOUND);
    if (res.status === 401) throw new CliError(`${message}; put the user in the URL: --http http://USER:PASSWORD@HOST:PORT`);
    throw new CliError(message);
  }
}
