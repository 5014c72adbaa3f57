import { Migration20261126000001_initial } from './Migration20261126000001_initial.js';
import { Migration20261126000100_event_seq_and_audit } from './Migration20261126000100_event_seq_and_audit.js';
import { Migration20261126000200_notifications } from './Migration20261126000200_notifications.js';
import { Migration20261126000300_notify_fixes } from './Migration20261126000300_notify_fixes.js';
import { Migration20261126000400_events_audit_fixes } from './Migration20261126000400_events_audit_fixes.js';
import { Migration20261201000100_releases } from './Migration20261201000100_releases.js';
import { Migration20261201000200_tickets } from './Migration20261201000200_tickets.js';
import { Migration20261127000800_embedded_cluster_owner } from './Migration20261127000800_embedded_cluster_owner.js';
import { Migration20261201000300_notify_pacing } from './Migration20261201000300_notify_pacing.js';
import { Migration20261201000400_admin_rules } from './Migration20261201000400_admin_rules.js';
import { Migration20261201000500_engine_jobs } from './Migration20261201000500_engine_jobs.js';
import { Migration20261201001000_builds } from './Migration20261201001000_builds.js';

/**
 * Committed MySQL/MariaDB migrations, in order. To add one: change the entities, run
 * `npm run db:diff` against a migrated database, and paste the statements into a new class.
 */
export const migrationsList = [
  { name: 'Migration20261126000001_initial', class: Migration20261126000001_initial },
  {
    name: 'Migration20261126000100_event_seq_and_audit',
    class: Migration20261126000100_event_seq_and_audit,
  },
  { name: 'Migration20261126000200_notifications', class: Migration20261126000200_notifications },
  { name: 'Migration20261126000300_notify_fixes', class: Migration20261126000300_notify_fixes },
  {
    name: 'Migration20261126000400_events_audit_fixes',
    class: Migration20261126000400_events_audit_fixes,
  },
  { name: 'Migration20261201000100_releases', class: Migration20261201000100_releases },
  { name: 'Migration20261201000200_tickets', class: Migration20261201000200_tickets },
  {
    name: 'Migration20261127000800_embedded_cluster_owner',
    class: Migration20261127000800_embedded_cluster_owner,
  },
  { name: 'Migration20261201000300_notify_pacing', class: Migration20261201000300_notify_pacing },
  { name: 'Migration20261201000400_admin_rules', class: Migration20261201000400_admin_rules },
  { name: 'Migration20261201000500_engine_jobs', class: Migration20261201000500_engine_jobs },
  { name: 'Migration20261201001000_builds', class: Migration20261201001000_builds },
];
