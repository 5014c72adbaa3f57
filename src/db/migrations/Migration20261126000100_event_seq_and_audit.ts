import { Migration } from '@mikro-orm/migrations';

/**
 * Platform events get `seq`, the public id in commit order given by the outbox relay
 * (docs/adr/0005-outbox.md); the audit log of mutations.
 */
export class Migration20261126000100_event_seq_and_audit extends Migration {
  override up(): void {
    this.addSql('alter table `platform_events` add `seq` bigint null after `id`');
    this.addSql('alter table `platform_events` add unique `platform_events_seq_unique`(`seq`)');
    this.addSql(
      'create table `audit_log` (`id` bigint unsigned not null auto_increment primary key, `at` datetime(3) not null, `actor` varchar(64) null, `operation_name` varchar(100) null, `root_field` varchar(200) not null, `target` varchar(100) null, `app` varchar(40) null, `outcome` varchar(8) not null, `error_code` varchar(64) null, `args` json not null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql('alter table `audit_log` add index `audit_log_app_id_index`(`app`, `id`)');
    this.addSql('alter table `audit_log` add index `audit_log_actor_id_index`(`actor`, `id`)');
    this.addSql('alter table `audit_log` add index `audit_log_at_index`(`at`)');
  }

  override down(): void {
    this.addSql('drop table if exists `audit_log`');
    this.addSql('alter table `platform_events` drop index `platform_events_seq_unique`');
    this.addSql('alter table `platform_events` drop column `seq`');
  }
}
