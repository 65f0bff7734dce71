import type { Generated } from 'kysely';

/**
 * The tables as Kysely sees them: one description for both engines (migrations/sqlite and
 * migrations/postgres create the same columns). Times are unix seconds (BIGINT on PostgreSQL,
 * parsed to numbers by src/store/postgres-dialect.ts), JSON arrays are TEXT, flags are 0/1.
 * `Generated` marks columns the database fills in when an insert leaves them out.
 */
export interface Tables {
  schema_migrations: { version: number; name: string; applied_at: string };
  users: { username: string; password_hash: string; disabled: Generated<number>; created_at: string; updated_at: string };
  user_roles: { username: string; role: string };
  sessions: {
    id_hash: string;
    sid: string;
    username: string;
    roles: string;
    amr: string;
    verifier: string;
    auth_time: number;
    created_at: number;
    last_seen_at: number;
    idle_seconds: number;
    absolute_expires_at: number;
    client_ip: string | null;
  };
  login_failures: { id: Generated<number>; scope: 'account' | 'ip'; key: string; at: number };
  auth_events: {
    id: Generated<number>;
    at: string;
    event: string;
    username: string | null;
    client_ip: string | null;
    app_id: string | null;
    flavor: string | null;
    verifier: string | null;
    detail: string | null;
  };
  signing_keys: {
    kid: string;
    purpose: string;
    alg: string;
    private_jwk: string | null;
    public_jwk: string;
    created_at: number;
    retired_at: number | null;
    publish_until: number | null;
  };
  server_secrets: { name: string; value: Buffer; created_at: number };
  machines: {
    fqdn: string;
    version: Generated<number>;
    set_by: string;
    set_at: number;
    expires_at: number | null;
    status: Generated<'active' | 'suspended'>;
    location: string | null;
    networks: Generated<string>;
    entitlements: Generated<string>;
    created_by: string;
    created_at: number;
  };
  machine_events: {
    id: Generated<number>;
    fqdn: string;
    action: string;
    version: number | null;
    actor: string;
    at: number;
    client_ip: string | null;
    reason: string | null;
    detail: string | null;
  };
  machine_sightings: {
    id: Generated<number>;
    at: number;
    fqdn: string | null;
    claimed_fqdn: string | null;
    jti_hash: string | null;
    version: number | null;
    client_ip: string;
    network: string;
    user_agent: string | null;
    app_id: string | null;
    outcome: 'accepted' | 'rejected';
    reason: string | null;
  };
  machine_ip_summary: {
    fqdn: string;
    client_ip: string;
    network: string;
    first_seen: number;
    last_seen: number;
    count: number;
    rejected_count: Generated<number>;
  };
  machine_sighting_hours: {
    name: string;
    hour_start: number;
    verified: number;
    client_ip: string;
    outcome: 'accepted' | 'rejected';
    network: string;
    count: number;
    first_at: number;
    last_at: number;
  };
  machine_alerts: {
    id: Generated<number>;
    fqdn: string;
    rule: 'outside_networks' | 'teleport' | 'clone';
    client_ip: string;
    previous_ip: string | null;
    detail: string;
    first_at: number;
    last_at: number;
    count: Generated<number>;
    suspended: Generated<number>;
    status: Generated<'open' | 'closed'>;
    closed_by: string | null;
    closed_at: number | null;
  };
  machine_enrollments: {
    code_hash: string;
    fqdn: string;
    lifetime_days: number;
    created_by: string;
    created_at: number;
    expires_at: number;
    used_at: number | null;
    used_ip: string | null;
    cancelled_at: number | null;
    cancelled_by: string | null;
  };
  machine_settings: { name: string; value: string; set_by: string; set_at: number };
  admin_password_entries: { username: string; at: number; groups: string; client_ip: string | null };
  cas_tickets: {
    id_hash: string;
    app_id: string;
    service: string;
    subject: string;
    flavor: string;
    from_new_login: number;
    created_at: number;
    expires_at: number;
    sid: string | null;
  };
  session_participants: {
    id: Generated<number>;
    sid: string;
    app_id: string;
    protocol: 'native' | 'cas' | 'oidc';
    subject: string;
    kind: 'user' | 'machine';
    cas_service: string | null;
    cas_ticket: string | null;
    at: number;
  };
  logout_deliveries: {
    id: Generated<number>;
    sid: string;
    app_id: string;
    channel: 'backchannel' | 'cas' | 'oidc';
    url: string;
    subject: string;
    kind: 'user' | 'machine';
    cas_ticket: string | null;
    reason: string;
    status: Generated<'pending' | 'delivered' | 'failed'>;
    attempts: Generated<number>;
    next_attempt_at: number;
    give_up_at: number;
    last_error: string | null;
    created_at: number;
    delivered_at: number | null;
  };
  oidc_models: {
    model: string;
    id: string;
    payload: string;
    grant_id: string | null;
    uid: string | null;
    user_code: string | null;
    expires_at: number;
    consumed_at: number | null;
  };
  /** cross-host housekeeping: one row per job, held by one host until `until` (src/store/lease.ts) */
  housekeeping_leases: { name: string; holder: string; until: number };
}
