/**
 * What an error page says for each stable error code (src/errors.ts, src/cas/errors.ts,
 * src/machines/errors.ts, src/oidc/errors.ts). English pages show the thrown error's own, more
 * specific description; other languages show these by code, `error.generic` for an unknown code.
 * JSON error bodies never use them (they stay English with the same codes).
 */
export const errorsEn = {
  'error.generic': 'The request was refused.',
  'error.invalid_request': 'The request could not be understood.',
  'error.server_error': 'Something went wrong on our side. Please try again in a moment.',
  'error.unknown_app': 'The application that sent you here is not registered with webiso.',
  'error.return_url_not_registered': 'The application asked to send you back to an address that is not registered with webiso.',
  'error.flavor_not_allowed': 'This application may not use the kind of login it asked for.',
  'error.password_in_url': 'A password was put in the address. Nothing was checked; change that password if someone could have seen the address.',
  'error.login_context_invalid': 'This login form has expired or was changed. Go back to the application and start again.',
  'error.csrf_invalid': 'This form has expired. Reload the page and try again.',
  'error.forbidden': 'You may not do this.',
  'error.not_found': 'There is no page at this address.',
  'error.method_not_allowed': 'This address does not accept that kind of request.',
  'error.temporarily_unavailable': 'The service is temporarily unavailable. Please try again in a few minutes.',
  'error.cas_service_not_registered': 'The application that sent you here is not registered with webiso for CAS.',
  'error.cas_identity_not_releasable': 'webiso may not tell this application who you are.',
  'error.invalid_machine_input': 'The machine details are not valid.',
  'error.machine_not_found': 'There is no such machine.',
  'error.machine_exists': 'That machine already exists.',
  'error.machine_version_conflict': 'Someone else changed this machine in the meantime. Reload the page and try again.',
  'error.mint_not_allowed': 'A machine cookie cannot be made for this machine now.',
  'error.admin_required': 'These pages are for webiso administrators.',
  'error.login_required': 'You need to log in first.',
  'error.reauth_required': 'Type your password again to do this.',
  'error.enrollment_not_found': 'This enrollment link is not valid: it was used, cancelled or never existed.',
  'error.enrollment_invalid': 'This enrollment link can no longer be used.',
  'error.oidc_interaction_expired': 'This login took too long and has expired. Go back to the application and start again.',
  'error.oidc_client_unknown': 'The application that sent you here is not registered with webiso.',
  'error.oidc_identity_not_releasable': 'webiso may not tell this application who you are.',
  'error.oidc_logout_request_invalid': 'The logout request could not be understood.',
} as const;
