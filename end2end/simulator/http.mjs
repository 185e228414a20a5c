// Tiny helpers for the hand-written (non-oidc-provider) routes.

export function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function sendEmpty(res, status = 204) {
  res.writeHead(status);
  res.end();
}

export function sendRedirect(res, location) {
  res.writeHead(302, { location });
  res.end();
}

export function sendHtml(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

/** Escapes text for HTML content and double-quoted attributes. */
export const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Parses a JSON request body; an empty body is `{}`. */
export async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// oidc-provider errors carry `statusCode`, `error` and `error_description`.
export function sendError(res, err) {
  const status = err.status ?? err.statusCode ?? 500;
  // An HttpError is a deliberate answer (e.g. 502 when an app is down); anything else is a bug.
  if (status >= 500 && !(err instanceof HttpError)) console.error(err);
  if (res.headersSent) return res.end();
  sendJson(res, status, { error: err.error ?? 'simulator_error', error_description: err.error_description ?? err.message });
}
