import type { Language } from '../languages.ts';
import { en } from './en.ts';
import { es } from './es.ts';
import { enAdmin } from './en-admin.ts';
import { esAdmin } from './es-admin.ts';
import { enAdminLists } from './en-admin-lists.ts';
import { esAdminLists } from './es-admin-lists.ts';
import { enAdminMachines } from './en-admin-machines.ts';
import { esAdminMachines } from './es-admin-machines.ts';
import { enAdminConsole } from './en-admin-console.ts';
import { esAdminConsole } from './es-admin-console.ts';
import { errorsEn } from './errors-en.ts';
import { errorsEs } from './errors-es.ts';

/** Every message key: the English catalogs are the reference (docs/i18n.md). */
const english = { ...en, ...enAdmin, ...enAdminLists, ...enAdminMachines, ...enAdminConsole, ...errorsEn };
export type MessageKey = keyof typeof english;
export type Catalog = Readonly<Record<MessageKey, string>>;

export const CATALOGS: Readonly<Record<Language, Catalog>> = {
  en: english,
  es: { ...es, ...esAdmin, ...esAdminLists, ...esAdminMachines, ...esAdminConsole, ...errorsEs },
};
