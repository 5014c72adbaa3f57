import { Migration } from '@mikro-orm/migrations';

/** Periodic jobs of the worker role (retention), claimed like every engine work item. */
export class Migration20261201000500_engine_jobs extends Migration {
  override up(): void {
    this.addSql(
      'create table `engine_jobs` (`id` int unsigned not null auto_increment primary key, `name` varchar(64) not null, `claimed_by` varchar(100) null, `claim_expires_at` bigint null, `generation` int not null default 0, `next_run_at` bigint null, `last_run_at` datetime(3) null, `last_result` json null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql('alter table `engine_jobs` add unique `engine_jobs_name_unique`(`name`)');
  }

  override down(): void {
    this.addSql('drop table if exists `engine_jobs`');
  }
}
