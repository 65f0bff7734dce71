/**
 * English, the reference catalog of the patron pages (views/*.eta). Keys ending in `Html` hold
 * markup and are output raw through `it.th(key, params)`, which HTML-escapes every parameter; all
 * other keys are plain text output through `<%= it.t(key, params) %>`. `{name}` is a parameter.
 * Wording that tests match is kept verbatim.
 */
export const en = {
  'layout.language': 'Language',
  'layout.support': 'Help with logging in:',

  'login.title': 'Log in',
  'login.heading': 'Log in to {app}',
  'login.institutionHtml': '<strong>{app}</strong> asks you to log in with your <strong>{institution}</strong> account.',
  'login.forced': 'This application asks you to enter your password again.',
  'login.getcredHtml': '<strong>{app}</strong> asks for a Kerberos ticket in your name for the service <code id="getcred-target">{target}</code>.\n  With it, the application can act as you towards that service (and only that service) for the ticket\'s lifetime.',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.consentAllow': 'Log in and hand over the ticket',
  'login.consentDeny': 'Do not hand over a ticket',
  'login.footnote': 'You are logging in with webiso, the central login service. Only type your password on this page.',
  // messages the login routes pass as `error` (translated by it.tr, which knows every English value)
  'login.errorMissing': 'Enter your username and your password.',
  'login.errorFailed': 'That username and password do not match. Check them and type the password again. After many failed attempts, wait a few minutes before the next one.',

  'kiosk.bannerHtml': 'This is a shared computer: the kiosk <strong id="kiosk-fqdn">{fqdn}</strong>. A login here ends after a few minutes without use.',
  'kiosk.endMine': 'End my session',
  'kiosk.endAny': 'End any session left on this kiosk',
  'kiosk.endNote': 'Ending your session logs you out of webiso on this computer and returns it to the kiosk\'s own identity.',
  'kiosk.enrollTitle': 'Enroll this browser as a kiosk',
  'kiosk.enrollHeading': 'Make this browser the kiosk {fqdn}?',
  'kiosk.enrollIntroHtml': 'An administrator created this one-time link to install the machine identity of <strong id="enroll-fqdn">{fqdn}</strong> in the browser that confirms it.\nApplications that accept kiosk machines will then recognise this browser as that machine, without a password, for {days} days.',
  'kiosk.enrollNote': 'Only confirm on the kiosk computer itself. The link can be used once, until {until}; confirming replaces any earlier cookie of this machine.',
  'kiosk.enrollConfirm': 'Install the machine identity in this browser',
  'kiosk.enrolledTitle': 'Kiosk enrolled',
  'kiosk.enrolledHeading': 'This browser is now the kiosk {fqdn}',
  'kiosk.enrolledBody': 'The machine cookie (version {version}) is installed and valid until {expires}. Every earlier cookie of this machine has stopped working.',
  'kiosk.endedTitle': 'Session ended',
  'kiosk.endedHeading': 'Your session has ended',
  'kiosk.endedHtml': 'You are logged out of webiso on this computer. It is again the kiosk <strong id="kiosk-fqdn">{fqdn}</strong>.',
  'kiosk.endedAppsHtml': 'You are logged out of webiso and of the applications above on this computer. It is again the kiosk <strong id="kiosk-fqdn">{fqdn}</strong>.',

  'logout.title': 'Log out',
  'logout.heading': 'Log out of webiso',
  'logout.loggedInAsHtml': 'You are logged in as <strong id="current-user">{user}</strong>.',
  'logout.notLoggedIn': 'You are not logged in to webiso in this browser.',
  'logout.submit': 'Log out',
  'logout.note': 'Logging out ends your webiso session and your sessions in the applications you used through it: webiso tells each of them, and the next page lists them and says which did not answer.',
  'loggedOut.title': 'Logged out',
  'loggedOut.heading': 'Logging out',
  'loggedOut.done': 'You are logged out of webiso. On a shared computer, close the browser as well.',
  'loggedOut.doneApps': 'You are logged out of webiso and of the applications above. On a shared computer, close the browser as well.',
  'loggedOut.continue': 'Continue',
  'loggedOut.pending': 'logging out…',
  'loggedOut.frameTitle': 'Logging out of {app}',
  'loggedOut.told': 'logged out',
  'loggedOut.unreachable': 'webiso cannot log you out of it: close its window',
  'loggedOut.noAnswer': 'did not answer: close its window',
  'loggedOut.progress': 'Logging you out of the applications…',

  'home.title': 'webiso',
  'home.sessionHtml': 'You are logged in as <strong id="current-user">{user}</strong> since {since}.',
  'home.expires': 'Your session ends at {expires} at the latest.',
  'home.notLoggedIn': 'You are not logged in. Applications send you here when you need to log in.',

  'postToApp.title': 'Returning to {app}',
  'postToApp.heading': 'Returning to {app}…',
  'postToApp.noscript': 'JavaScript is off: press Continue to return to the application.',
  'postToApp.continue': 'Continue',

  'loop.title': 'Login loop stopped',
  'loop.heading': 'We stopped a login loop',
  'loop.bodyHtml': '<strong>{app}</strong> has sent you back to log in {count} times in a few seconds, although you are logged in. webiso stopped here so that your browser does not keep going round.',
  'loop.cause': 'This usually means the application cannot keep its own session: its cookies may be blocked in this browser, or the application\'s clock or configuration is wrong.',
  'loop.stepClose': 'Close this tab, open the application again, and allow its cookies if your browser asks.',
  'loop.stepTellHtml': 'If it happens again, tell the application\'s administrators (reference <code>{ref}</code>).',
  'loop.retry': 'Try once more',

  'unavailable.title': 'Try again later',
  'unavailable.body': 'The login service cannot check passwords right now. Nothing is wrong with your account; please try again in a few minutes.',

  'error.title': 'Request refused',
  'error.codeLineHtml': 'Error code: <code id="error-code">{code}</code> · Reference: <code>{ref}</code>',
  'error.advice': 'If you followed a link from an application, tell its administrators the error code above.',
} as const;
