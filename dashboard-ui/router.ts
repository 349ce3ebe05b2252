import { base } from './api';

/** The route within the dashboard: the overview and job list, or one job's page. */
export function route(): { jobId?: string } {
  const match = /^\/jobs\/([1-9][0-9]*)$/.exec(location.pathname.slice(base.length));
  return match ? { jobId: match[1] } : {};
}

export function navigate(path: string): void {
  history.pushState(null, '', `${base}${path}`);
  dispatchEvent(new PopStateEvent('popstate'));
}
