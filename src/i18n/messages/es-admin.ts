import type { enAdmin } from './en-admin.ts';

/** Spanish admin pages: every key of en-admin.ts, no other. */
export const esAdmin: Record<keyof typeof enAdmin, string> = {
  'admin.nav.title': 'administración de webiso',
  'admin.nav.dashboard': 'Panel',
  'admin.nav.machines': 'Máquinas',
  'admin.nav.history': 'Historial',
  'admin.nav.expiring': 'Caducan pronto',
  'admin.nav.alerts': 'Alertas',
  'admin.nav.open': ' abiertas',
  'admin.nav.enrollments': 'Enlaces de alta',
  'admin.nav.users': 'Usuarios',
  'admin.nav.loggedInAsHtml': 'Sesión iniciada como <strong id="admin-user">{user}</strong>',
  'admin.nav.logout': 'Cerrar sesión',

  'admin.login.title': 'Inicio de sesión de administrador',
  'admin.login.confirmTitle': 'Confirme su contraseña',
  'admin.login.sessionHtml': 'Ha iniciado sesión como <strong id="current-user">{user}</strong>. Para crear cookies de máquina hace falta una contraseña escrita en los últimos {minutes} minutos.',
  'admin.login.intro': 'Las páginas de administración de webiso son para los administradores de las máquinas quiosco.',
  'admin.login.confirm': 'Confirmar',

  'admin.notAdmin.title': 'Solo para administradores',
  'admin.notAdmin.heading': 'Estas páginas son para los administradores de webiso',
  'admin.notAdmin.bodyHtml': 'Ha iniciado sesión como <strong id="current-user">{user}</strong>, que no tiene el rol <code>admin</code>, así que las páginas de administración no están abiertas para usted.',
  'admin.notAdmin.switch': 'Iniciar sesión como otra persona',
  'admin.notAdmin.noteHtml': 'Al iniciar sesión como otra persona se termina primero su sesión en este navegador. Si debería ser administrador, pida a quien gestiona webiso que dé a su cuenta el rol admin. Código de error: <code id="error-code">{code}</code>',

  'admin.minted.title': 'Cookie de máquina instalada',
  'admin.minted.heading': 'Este navegador es ahora {fqdn}',
  'admin.minted.bodyHtml': 'Hay una cookie de máquina para <strong id="minted-fqdn">{fqdn}</strong> (versión <span id="minted-version">{version}</span>) instalada en este navegador, válida hasta el {expires}.\nTodas las cookies anteriores de esta máquina han dejado de funcionar.',
  'admin.minted.loggedOut': 'Se ha cerrado su sesión de webiso en este navegador, para que la próxima persona en este quiosco no herede su sesión.',
};
