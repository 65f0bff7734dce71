import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, resolve } from 'node:path';

/**
 * Template lookup with a theme: a template name resolves to the theme directory's file of the same
 * name when there is one, else to the shipped views/. Includes resolve by the including template's
 * logical name, so a themed layout can include a shipped partial and the other way round. Nothing
 * outside the two directories is ever read (a name with `..` out of them is refused).
 */
export function themedResolvePath(viewsDir: string, themeDir: string | undefined) {
  const roots = [themeDir, viewsDir].filter((root): root is string => root !== undefined).map((root) => resolve(root));
  const logicalName = (path: string): string => {
    for (const root of roots) {
      const name = relative(root, path);
      if (name !== '' && !name.startsWith('..') && !isAbsolute(name)) return name;
    }
    throw new Error(`template ${path} is outside the views`);
  };
  const resolveName = (name: string): string => {
    for (const root of roots) {
      const candidate = join(root, name);
      if (existsSync(candidate)) return candidate;
    }
    return join(resolve(viewsDir), name);
  };
  // Templates are compiled once and cached (Eta's `cache: true`), so where a name resolves is too:
  // a render then touches no file system (one existsSync per page was 2% of the SSO redirect).
  const resolved = new Map<string, string>();
  return (template: string, options?: { filepath?: string }): string => {
    const file = template.endsWith('.eta') ? template : `${template}.eta`;
    const base = options?.filepath ? dirname(logicalName(options.filepath)) : '.';
    const name = normalize(join(base, file.replace(/^\/+/, '')));
    if (name.startsWith('..') || isAbsolute(name)) throw new Error(`template ${template} is outside the views`);
    let path = resolved.get(name);
    if (path === undefined) resolved.set(name, (path = resolveName(name)));
    return path;
  };
}
