import { Migration } from '@mikro-orm/migrations';

/**
 * Releases and their progress feed. `releases.active_key` (unique, NULL once a release ended)
 * holds "one active release per app and environment" in the database; the claim columns
 * (`claimed_by`, `claim_expires_at`, `generation`, `next_run_at`) make each release a work item
 * of the engine (src/engine/work-claims.ts).
 */
export class Migration20261201000100_releases extends Migration {
  override up(): void {
    this.addSql(
      "create table `releases` (`id` int unsigned not null auto_increment primary key, `app_id` int not null, `app` varchar(40) not null, `env` varchar(40) not null, `image` varchar(512) not null, `status` enum('PENDING', 'PRECHECKING', 'AWAITING_APPROVAL', 'DEPLOYING', 'VERIFYING', 'PAUSED', 'SUCCEEDED', 'FAILED', 'ROLLING_BACK', 'ROLLED_BACK', 'CANCELED', 'REJECTED') not null, `strategy` enum('ROLLING', 'RECREATE', 'CANARY') not null, `spec` json not null, `targets` json not null, `steps` json not null, `clusters` json not null, `prechecks` json not null, `description` text not null default (''), `created_by` varchar(64) not null, `created_by_id` int not null, `build_id` int null, `rollback_of` int null, `rollback_to` int null, `outcome` varchar(24) null, `ticket_id` int null, `message` text null, `active_key` varchar(100) null, `approval` varchar(16) null, `approval_note` text null, `cancel_requested` tinyint(1) not null default false, `promote_requested` tinyint(1) not null default false, `progress_seq` int not null default 0, `claimed_by` varchar(100) null, `claim_expires_at` bigint null, `generation` int not null default 0, `next_run_at` bigint null, `created_at` datetime(3) not null, `updated_at` datetime(3) not null, `started_at` datetime(3) null, `finished_at` datetime(3) null) default character set utf8mb4 engine = InnoDB",
    );
    this.addSql('alter table `releases` add index `releases_next_run_at_index`(`next_run_at`)');
    this.addSql(
      'alter table `releases` add index `releases_created_by_id_index`(`created_by`, `id`)',
    );
    this.addSql('alter table `releases` add index `releases_status_id_index`(`status`, `id`)');
    this.addSql(
      'alter table `releases` add index `releases_app_id_env_id_index`(`app_id`, `env`, `id`)',
    );
    this.addSql('alter table `releases` add unique `releases_active_key_unique`(`active_key`)');
    this.addSql(
      'create table `release_progress` (`id` bigint unsigned not null auto_increment primary key, `release_id` int not null, `seq` int not null, `kind` varchar(16) not null, `message` text not null, `state` json not null, `at` datetime(3) not null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql(
      'alter table `release_progress` add unique `release_progress_release_id_seq_unique`(`release_id`, `seq`)',
    );
  }

  override down(): void {
    this.addSql('drop table if exists `release_progress`');
    this.addSql('drop table if exists `releases`');
  }
}
