// typedoc plugin (loaded from typedoc.json): checks typedoc has no option for. Each finding is a warning,
// and typedoc.json sets treatWarningsAsErrors, so `npm run docs` fails on any of them.
//
// 1. Every exported function has an `@example` (on the function or on one of its signatures).
// 2. Source links point only into this repository's own sources: a declaration inherited from
//    node_modules (Error.message from lib.es5.d.ts, …) keeps its "Defined in" text but gets no link.
// 3. Every relative source link in the rendered HTML resolves to a file that exists (sourceLinkTemplate is
//    relative to the checkout, since there is no public repository to link to).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Application, Converter, ReflectionKind, Renderer } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  // After SourcePlugin (RESOLVE_BEGIN) has filled in the URLs.
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    for (const refl of Object.values(context.project.reflections)) {
      for (const source of refl.sources ?? []) {
        if (!source.fileName.startsWith('src/')) source.url = undefined;
      }
    }
  });

  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const missing = [];
    for (const fn of project.getReflectionsByKind(ReflectionKind.Function)) {
      const comments = [fn.comment, ...(fn.signatures ?? []).map((s) => s.comment)];
      if (comments.some((c) => c?.blockTags.some((t) => t.tag === '@example'))) continue;
      const src = fn.sources?.[0] ?? fn.signatures?.[0]?.sources?.[0];
      missing.push(`${fn.getFullName()}${src ? ` (${src.fileName}:${src.line})` : ''}`);
    }
    for (const name of missing) app.logger.warn(`Exported function ${name} has no @example.`);
  });

  app.renderer.on(Renderer.EVENT_END, (event) => {
    let links = 0;
    const broken = new Set();
    const walk = (dir) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.html')) {
          for (const m of readFileSync(path, 'utf8').matchAll(/href="([^"#]+)#L\d+"/g)) {
            const href = m[1];
            if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // an absolute URL: not ours to check offline
            links++;
            const target = resolve(dirname(path), decodeURI(href));
            if (!existsSync(target)) broken.add(`${href} (from ${path})`);
          }
        }
      }
    };
    walk(event.outputDirectory);
    for (const b of broken) app.logger.warn(`Source link to a file that does not exist: ${b}`);
    app.logger.verbose(`Checked ${links} source links.`);
  });
}
