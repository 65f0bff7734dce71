/**
 * English for the admin chrome (views/admin/_head.eta) and the admin login, not-admin and minted
 * pages, the same rules as en.ts; the other admin pages: en-admin-lists.ts, en-admin-machines.ts.
 */
export const enAdmin = {
  'admin.nav.title': 'webiso admin',
  'admin.nav.dashboard': 'Dashboard',
  'admin.nav.machines': 'Machines',
  'admin.nav.history': 'History',
  'admin.nav.expiring': 'Expiring soon',
  'admin.nav.alerts': 'Alerts',
  'admin.nav.open': ' open',
  'admin.nav.enrollments': 'Enrollment links',
  'admin.nav.users': 'Users',
  'admin.nav.loggedInAsHtml': 'Logged in as <strong id="admin-user">{user}</strong>',
  'admin.nav.logout': 'Log out',

  'admin.login.title': 'Administrator login',
  'admin.login.confirmTitle': 'Confirm your password',
  'admin.login.sessionHtml': 'You are logged in as <strong id="current-user">{user}</strong>. Minting machine cookies needs a password typed within the last {minutes} minutes.',
  'admin.login.intro': 'The webiso admin pages are for administrators of kiosk machines.',
  'admin.login.confirm': 'Confirm',

  'admin.notAdmin.title': 'Administrators only',
  'admin.notAdmin.heading': 'These pages are for webiso administrators',
  'admin.notAdmin.bodyHtml': 'You are logged in as <strong id="current-user">{user}</strong>, who does not have the <code>admin</code> role, so the admin pages are not open to you.',
  'admin.notAdmin.switch': 'Log in as someone else',
  'admin.notAdmin.noteHtml': 'Logging in as someone else ends your session in this browser first. If you should be an administrator, ask whoever runs webiso to give your account the admin role. Error code: <code id="error-code">{code}</code>',

  'admin.minted.title': 'Machine cookie installed',
  'admin.minted.heading': 'This browser is now {fqdn}',
  'admin.minted.bodyHtml': 'A machine cookie for <strong id="minted-fqdn">{fqdn}</strong> (version <span id="minted-version">{version}</span>) is installed in this browser, valid until {expires}.\nEvery earlier cookie of this machine has stopped working.',
  'admin.minted.loggedOut': 'You have been logged out of webiso in this browser, so the next person at this kiosk does not inherit your session.',
} as const;
