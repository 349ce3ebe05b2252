import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { DashboardRequest } from './dashboard-options';

/** The cookie and header of the double-submit token that every action must carry. */
export const CSRF_COOKIE = 'pgqueue_csrf';
export const CSRF_HEADER = 'x-pgqueue-csrf';

/**
 * Headers of every dashboard response: nothing but the dashboard's own files may run, load or be framed, and no
 * response is guessed to be another type.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function newCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

export function csrfCookie(token: string, path: string): string {
  return `${CSRF_COOKIE}=${token}; Path=${path}; SameSite=Strict; HttpOnly`;
}

function header(request: DashboardRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function cookieOf(request: DashboardRequest, name: string): string | undefined {
  for (const part of (header(request, 'cookie') ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/**
 * Why an action request may come from another site, or undefined when it may not: the browser says where it comes
 * from (Sec-Fetch-Site, Origin), and it carries the token of the dashboard's own cookie, which another site cannot read.
 */
export function crossSiteReason(request: DashboardRequest): string | undefined {
  const site = header(request, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site is ${site}`;
  const origin = header(request, 'origin');
  const host = header(request, 'x-forwarded-host') ?? header(request, 'host');
  if (origin !== undefined && hostOf(origin) !== host) return `Origin ${origin} is not this host`;
  const cookie = cookieOf(request, CSRF_COOKIE);
  const sent = header(request, CSRF_HEADER);
  if (!cookie || !sent) return `no ${CSRF_HEADER} header matching the dashboard's cookie`;
  const a = Buffer.from(cookie);
  const b = Buffer.from(sent);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return `the ${CSRF_HEADER} header does not match the dashboard's cookie`;
  return undefined;
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
