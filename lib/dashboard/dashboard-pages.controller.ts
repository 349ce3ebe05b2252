import { Controller, Get, Inject, NotFoundException, Param, Res, UseFilters, UseGuards, UseInterceptors, type Type } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DashboardAuthGuard } from './dashboard-guards';
import { DashboardErrors, SecurityHeaders, type HeaderSetter } from './dashboard-http';
import { DASHBOARD_OPTIONS, type ResolvedDashboardOptions } from './dashboard-options';

/** The UI's files, bundled by `npm run build` into dist/dashboard/ui (beside this file once built). */
const UI_DIRS = [join(__dirname, 'ui'), join(__dirname, '..', '..', 'dist', 'dashboard', 'ui')];
const ASSETS: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };

/** The page (the same for every route of the UI) and its two files, behind the same auth as the API. */
export function dashboardPagesController(path: string): Type {
  @Controller(path.slice(1))
  @UseGuards(DashboardAuthGuard)
  @UseInterceptors(SecurityHeaders)
  @UseFilters(DashboardErrors)
  class DashboardPagesController {
    private readonly files = new Map<string, string>();

    constructor(@Inject(DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions) {}

    @Get()
    overview(@Res({ passthrough: true }) response: HeaderSetter) {
      return this.page(response);
    }

    @Get('jobs/:id')
    job(@Res({ passthrough: true }) response: HeaderSetter) {
      return this.page(response);
    }

    @Get('assets/:file')
    asset(@Param('file') file: string, @Res({ passthrough: true }) response: HeaderSetter) {
      const type = ASSETS[file];
      if (!type) throw new NotFoundException();
      response.header('content-type', type);
      return this.read(file);
    }

    /** The path is checked at bootstrap (letters, digits, - and _), so it goes into the page as it is. */
    private page(response: HeaderSetter): string {
      const base = this.options.path;
      response.header('content-type', 'text/html; charset=utf-8');
      return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Queues</title>
<link rel="stylesheet" href="${base}/assets/app.css">
</head>
<body>
<div id="app" data-base="${base}"></div>
<script type="module" src="${base}/assets/app.js"></script>
</body>
</html>
`;
    }

    private read(file: string): string {
      let text = this.files.get(file);
      if (text === undefined) {
        const dir = UI_DIRS.find((candidate) => existsSync(join(candidate, file)));
        if (!dir) throw new Error(`The dashboard UI is not built (${file} not found): run npm run build.`);
        text = readFileSync(join(dir, file), 'utf8');
        this.files.set(file, text);
      }
      return text;
    }
  }
  return DashboardPagesController;
}
