import { Migration } from '@mikro-orm/migrations';

/**
 * Builds (issue 10): `builds` (numbered per app, with the engine's claim columns like
 * `releases`), `build_log_lines` (dense offsets per build; older lines deleted past
 * PHANTOM_BUILD_LOG_MAX_BYTES), the release status BUILDING, and an index to find the
 * releases of a build.
 */
export class Migration20261201001000_builds extends Migration {
  override up(): void {
    this.addSql(
      "create table `builds` (`id` int unsigned not null auto_increment primary key, `app_id` int not null, `app` varchar(40) not null, `number` int not null, `ref` varchar(255) null, `commit` varchar(64) null, `status` enum('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED') not null, `image` varchar(512) null, `dependencies` json null, `triggered_by` varchar(64) not null, `triggered_by_id` int not null, `message` text null, `cancel_requested` tinyint(1) not null default false, `attempts` int not null default 0, `log_first` int not null default 0, `log_next` int not null default 0, `log_bytes` bigint not null default 0, `claimed_by` varchar(100) null, `claim_expires_at` bigint null, `generation` int not null default 0, `next_run_at` bigint null, `created_at` datetime(3) not null, `updated_at` datetime(3) not null, `started_at` datetime(3) null, `finished_at` datetime(3) null) default character set utf8mb4 engine = InnoDB",
    );
    this.addSql('alter table `builds` add index `builds_next_run_at_index`(`next_run_at`)');
    this.addSql('alter table `builds` add index `builds_status_id_index`(`status`, `id`)');
    this.addSql(
      'alter table `builds` add unique `builds_app_id_number_unique`(`app_id`, `number`)',
    );
    this.addSql(
      'create table `build_log_lines` (`id` bigint unsigned not null auto_increment primary key, `build_id` int not null, `line_offset` int not null, `text` text not null, `size` int not null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql(
      'alter table `build_log_lines` add unique `build_log_lines_build_id_line_offset_unique`(`build_id`, `line_offset`)',
    );
    this.addSql(
      "alter table `releases` modify `status` enum('PENDING', 'BUILDING', 'PRECHECKING', 'AWAITING_APPROVAL', 'DEPLOYING', 'VERIFYING', 'PAUSED', 'SUCCEEDED', 'FAILED', 'ROLLING_BACK', 'ROLLED_BACK', 'CANCELED', 'REJECTED') not null",
    );
    this.addSql('alter table `releases` add index `releases_build_id_index`(`build_id`)');
  }

  override down(): void {
    this.addSql('alter table `releases` drop index `releases_build_id_index`');
    this.addSql(
      "alter table `releases` modify `status` enum('PENDING', 'PRECHECKING', 'AWAITING_APPROVAL', 'DEPLOYING', 'VERIFYING', 'PAUSED', 'SUCCEEDED', 'FAILED', 'ROLLING_BACK', 'ROLLED_BACK', 'CANCELED', 'REJECTED') not null",
    );
    this.addSql('drop table if exists `build_log_lines`');
    this.addSql('drop table if exists `builds`');
  }
}
