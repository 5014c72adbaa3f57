import { Migration } from '@mikro-orm/migrations';

/**
 * Admin rules (issue 10): maintenance windows, dependency rules, whitelist entries. No
 * foreign keys: a whitelist entry keeps its app id after the app is deleted (it names no
 * other app), and rules are matched by name.
 */
export class Migration20261201000400_admin_rules extends Migration {
  override up(): void {
    this.addSql(
      'create table `maintenance_windows` (`id` int unsigned not null auto_increment primary key, `name` varchar(100) not null, `envs` json not null, `apps` json not null, `starts_at` datetime(3) null, `ends_at` datetime(3) null, `weekly` json null, `timezone` varchar(64) not null, `reason` text not null, `created_by` varchar(64) not null, `created_at` datetime(3) not null, `updated_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql(
      'alter table `maintenance_windows` add unique `maintenance_windows_name_unique`(`name`)',
    );
    this.addSql(
      'create table `dependency_rules` (`id` int unsigned not null auto_increment primary key, `name` varchar(100) not null, `artifact` varchar(200) not null, `min_version` varchar(100) null, `banned_versions` json not null, `message` text not null, `created_by` varchar(64) not null, `created_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql('alter table `dependency_rules` add unique `dependency_rules_name_unique`(`name`)');
    this.addSql(
      'create table `whitelist_entries` (`id` int unsigned not null auto_increment primary key, `app_id` int unsigned not null, `app` varchar(40) not null, `rule` varchar(100) not null, `reason` text not null, `expires_at` datetime(3) not null, `created_by` varchar(64) not null, `created_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql(
      'alter table `whitelist_entries` add index `whitelist_entries_app_id_index`(`app_id`)',
    );
  }

  override down(): void {
    this.addSql('drop table if exists `whitelist_entries`');
    this.addSql('drop table if exists `dependency_rules`');
    this.addSql('drop table if exists `maintenance_windows`');
  }
}
