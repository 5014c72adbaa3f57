import { Migration } from '@mikro-orm/migrations';

/**
 * Audit entries record the id of their app (`app_id`): app names can be reused after a
 * delete, and the OWNERs of a new app must not read the old one's history. Existing entries
 * are linked to the app of that name only if it existed when they were written; older ones
 * stay unlinked (platform admins still read them).
 */
export class Migration20261126000400_events_audit_fixes extends Migration {
  override up(): void {
    this.addSql('alter table `audit_log` add `app_id` int null after `app`');
    this.addSql('alter table `audit_log` add index `audit_log_app_id_id_index`(`app_id`, `id`)');
    this.addSql(
      'update `audit_log` `l` join `apps` `a` on `a`.`name` = `l`.`app` set `l`.`app_id` = `a`.`id` where `l`.`at` >= `a`.`created_at`',
    );
  }

  override down(): void {
    this.addSql('alter table `audit_log` drop index `audit_log_app_id_id_index`');
    this.addSql('alter table `audit_log` drop column `app_id`');
  }
}
